// nfextract.groovy: the processes, workflows and includes of .nf files as JSON, read by nf-lang (Nextflow's
// own parser), and the functions they define. Each element keeps its exact source text, so tests can check and run it.
//   java -cp language-server-all.jar groovy.ui.GroovyMain tools/nfextract.groovy FILE.nf... > structure.json

import groovy.json.JsonOutput
import nextflow.script.ast.ProcessNodeV1
import nextflow.script.ast.ScriptNode
import nextflow.script.control.ScriptParser
import org.codehaus.groovy.ast.ASTNode
import org.codehaus.groovy.ast.stmt.BlockStatement
import org.codehaus.groovy.ast.stmt.Statement

/** The source text a node spans (nf-lang positions: 1-based lines, 1-based columns, end column exclusive). */
String sourceOf(List<String> lines, ASTNode node) {
    if (node == null || node.lineNumber < 1) return null
    (node.lineNumber..node.lastLineNumber).collect { number ->
        String line = lines[number - 1]
        int from = number == node.lineNumber ? node.columnNumber - 1 : 0
        int to = number == node.lastLineNumber ? node.lastColumnNumber - 1 : line.length()
        line.substring(Math.min(from, line.length()), Math.max(Math.min(from, line.length()), Math.min(to, line.length())))
    }.join('\n')
}

List<Statement> statementsOf(Statement statement) {
    if (statement instanceof BlockStatement) return statement.statements
    statement == null || statement.isEmpty() ? [] : [statement]
}

def result = [:]
args.each { path ->
    def lines = new File(path).readLines()
    def unit = new ScriptParser().parse(new File(path))
    if (unit.errorCollector.hasErrors()) {
        result[path] = [errors: unit.errorCollector.errors.collect { e -> e.toString() }]
        return
    }
    ScriptNode script = (ScriptNode) unit.AST
    result[path] = [
        includes : script.includes.collect { i -> [source: i.source.text, names: i.entries.collect { e -> e.name }] },
        workflows: script.workflows.collect { w -> [name: w.name ?: '<entry>', takes: w.parameters*.name] },
        functions: script.functions.collect { f -> [name: f.name, source: sourceOf(lines, f)] },
        processes: script.processes.findAll { p -> p instanceof ProcessNodeV1 }.collect { ProcessNodeV1 p ->
            [
                name      : p.name,
                directives: statementsOf(p.directives).collect { s -> [name: s.expression.methodAsString, text: sourceOf(lines, s)] },
                inputs    : statementsOf(p.inputs).collect { s -> sourceOf(lines, s) },
                outputs   : statementsOf(p.outputs).collect { s -> sourceOf(lines, s) },
                script    : sourceOf(lines, p.exec),
                when      : sourceOf(lines, p.when),
                stub      : sourceOf(lines, p.stub),
            ]
        },
    ]
}
println JsonOutput.prettyPrint(JsonOutput.toJson(result))
