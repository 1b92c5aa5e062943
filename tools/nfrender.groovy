// nfrender.groovy: render process `script:`/`stub:` blocks and output patterns the way Nextflow would, with
// given bindings, so that tests can run the rendered commands on fixtures without a Nextflow engine.
//   java -cp language-server-all.jar groovy.ui.GroovyMain tools/nfrender.groovy SPEC.json > RENDERED.json
// SPEC: [{"name": ..., "script": block source, "outputs": [output declarations], "bindings": {...}, "values": {...}}].
// Lists in the bindings stand for staged path collections: a List in Groovy code (as Nextflow's BlankSeparatedList
// is; an empty one, `[]` for an optional path input, is false as in Nextflow), written space-separated where a
// string interpolates them, because the code is compiled with nf-lang's own TaskCmdXformVisitor, which routes every
// interpolated value through LangHelpers.applyPathEscapeAware as in Nextflow (nf-lang TaskCmdXformVisitor.java;
// nextflow LangHelpers.java:278). "values" are `val` inputs, bound as they are.

import groovy.json.JsonOutput
import groovy.json.JsonSlurper
import groovy.transform.Field
import nextflow.script.control.TaskCmdXformVisitor
import org.codehaus.groovy.ast.ClassNode
import org.codehaus.groovy.classgen.GeneratorContext
import org.codehaus.groovy.control.CompilePhase
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.SourceUnit
import org.codehaus.groovy.control.customizers.CompilationCustomizer

class StagedPaths implements List {
    @Delegate List items
    String toString() { items.join(' ') }
    boolean asBoolean() { !items.isEmpty() }
}

// what TaskCmdXformVisitor calls: Nextflow's LangHelpers.applyPathEscapeAware, for staged path lists
@Field final GroovyClassLoader LOADER = new GroovyClassLoader(this.class.classLoader)
LOADER.parseClass('''
    package nextflow.util
    class LangHelpers {
        static Object applyPathEscapeAware(Object value) { value?.getClass()?.name == 'StagedPaths' ? value.toString() : value }
    }
''')

class TaskCmdXform extends CompilationCustomizer {
    TaskCmdXform() { super(CompilePhase.CONVERSION) }
    void call(SourceUnit source, GeneratorContext context, ClassNode classNode) {
        new TaskCmdXformVisitor(source).visitClass(classNode)
    }
}

@Field final CompilerConfiguration CONFIG = new CompilerConfiguration().addCompilationCustomizers(new TaskCmdXform())

Object staged(Object value) {
    if (value instanceof List) return new StagedPaths(items: value)
    if (value instanceof Map) return value.collectEntries { k, v -> [k, staged(v)] }
    value
}

String evaluate(String code, Map bindings, Map values = [:]) {
    Map all = bindings.collectEntries { k, v -> [k, staged(v)] } + (values ?: [:])
    new GroovyShell(LOADER, new Binding(all), CONFIG).evaluate(code).toString()
}

// the quoted argument of path(...) and eval(...) in an output declaration, as Groovy string literals
final PATTERN = ~/\b(path|eval)\s*\(?\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')/

def specs = new JsonSlurper().parse(new File(args[0]))
def rendered = specs.collect { spec ->
    String code = spec.script.replaceFirst(/^\s*(script|stub):\s*\n/, '')
    def outputs = spec.outputs.collect { declaration ->
        def found = declaration =~ PATTERN
        [
            declaration: declaration,
            optional   : declaration.contains('optional: true'),
            paths      : found.findAll { m -> m[1] == 'path' }.collect { m -> evaluate(m[2], spec.bindings, spec.values) },
            evals      : found.findAll { m -> m[1] == 'eval' }.collect { m -> evaluate(m[2], spec.bindings, spec.values) },
        ]
    }
    [name: spec.name, command: evaluate(code, spec.bindings, spec.values), outputs: outputs]
}
println JsonOutput.prettyPrint(JsonOutput.toJson(rendered))
