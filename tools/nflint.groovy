// nflint.groovy: `nextflow lint` without a Nextflow installation, on nf-lang (Nextflow's own parser and
// checks, shipped in the Nextflow language server jar). Prints `file:line:col: error|warning: message`;
// exits 1 when any file has an error. Warnings never fail.
//   java -cp language-server-all.jar groovy.ui.GroovyMain tools/nflint.groovy [--types] PATH...
// --types adds two checks of the experimental type checker that are reliable on real pipelines: calls of
// a process or workflow with the wrong number of arguments, and references to outputs that do not exist;
// and checks config options against Nextflow's option list (plugins are never looked up).

import groovy.io.FileType
import nextflow.config.control.ConfigParser
import nextflow.lsp.services.config.ConfigSpecVisitor
import nextflow.lsp.spec.PluginSpec
import nextflow.lsp.spec.PluginSpecCache
import nextflow.script.control.ScriptParser
import nextflow.script.control.TypeCheckingVisitorEx
import org.codehaus.groovy.control.SourceUnit
import org.codehaus.groovy.control.messages.SyntaxErrorMessage

final IGNORED_DIRS = ['.git', '.venv', '.nextflow', '.nf-test', 'work', 'node_modules', '.cache', '.nfjar'] as Set
final KEPT_TYPE_FINDINGS = ~/^(Unrecognized output `|(Process|Workflow) `[^`]+` expects \d+ argument)/

boolean types = args.contains('--types')
List<File> files = []
args.findAll { a -> a != '--types' }.each { a ->
    File root = new File(a)
    if (root.isFile()) {
        files << root.canonicalFile
        return
    }
    root.traverse(type: FileType.FILES, preDir: { dir ->
        IGNORED_DIRS.contains(dir.name) ? groovy.io.FileVisitResult.SKIP_SUBTREE : groovy.io.FileVisitResult.CONTINUE
    }) { f ->
        if ((f.name.endsWith('.nf') || f.name.endsWith('.config')) && f.name != 'nf-test.config') files << f.canonicalFile
    }
}
files = files.unique().sort()

List<SourceUnit> units = []
def scripts = new ScriptParser()
files.findAll { f -> f.name.endsWith('.nf') }.each { f -> scripts.parse(f) }
scripts.analyze()
def scriptUnits = scripts.compiler().getSources().values().toList()
if (types) {
    scriptUnits.findAll { u -> !u.errorCollector.hasErrors() }.each { u ->
        int known = u.errorCollector.errors?.size() ?: 0
        new TypeCheckingVisitorEx(u, true).visit()
        def errors = u.errorCollector.errors
        if (errors && errors.size() > known) {
            def added = new ArrayList(errors.subList(known, errors.size()))
            errors.subList(known, errors.size()).clear()
            errors.addAll(added.findAll { m -> m instanceof SyntaxErrorMessage && m.cause.originalMessage =~ KEPT_TYPE_FINDINGS })
        }
    }
}
units.addAll(scriptUnits)

def offlinePlugins = new PluginSpecCache('http://127.0.0.1:9/') {
    @Override
    PluginSpec get(String name, String version) { null }
}
files.findAll { f -> f.name.endsWith('.config') }.each { f ->
    def parser = new ConfigParser()   // one per file, so that one broken config does not hide the others
    def unit = parser.parse(f)
    if (!unit.errorCollector.hasErrors()) {
        parser.analyze()
        if (types && !unit.errorCollector.hasErrors()) new ConfigSpecVisitor(unit, offlinePlugins, false).visit()
    }
    units.addAll(parser.compiler().getSources().values())
}

def here = new File('.').canonicalFile.toPath()
int errorCount = 0
int warningCount = 0
units.unique { u -> u.name }.sort { u -> u.name }.each { u ->
    def shown = here.relativize(new File(u.name).toPath())
    def collector = u.errorCollector
    (collector.errors ?: []).each { m ->
        if (m instanceof SyntaxErrorMessage) {
            println "${shown}:${m.cause.startLine}:${m.cause.startColumn}: error: ${m.cause.originalMessage}"
        } else {
            println "${shown}: error: ${m.cause?.message ?: m}"
        }
        errorCount++
    }
    (collector.warnings ?: []).each { w ->
        println "${shown}:${w.context?.startLine ?: 0}:${w.context?.startColumn ?: 0}: warning: ${w.message}"
        warningCount++
    }
}
println "nflint: ${files.size()} files, ${errorCount} errors, ${warningCount} warnings"
System.exit(errorCount ? 1 : 0)
