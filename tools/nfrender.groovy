// nfrender.groovy: render process `script:`/`stub:` blocks and output patterns the way Nextflow would, with
// given bindings, so that tests can run the rendered commands on fixtures without a Nextflow engine.
//   java -cp language-server-all.jar groovy.ui.GroovyMain tools/nfrender.groovy SPEC.json > RENDERED.json
// SPEC: [{"name": ..., "script": block source, "outputs": [output declarations], "bindings": {...}, "values": {...}}].
// Lists in the bindings stand for staged path collections, which Nextflow writes space-separated (an empty one,
// `[]` for an optional path input, is false as in Nextflow); "values" are `val` inputs, bound as they are.

import groovy.json.JsonOutput
import groovy.json.JsonSlurper

class StagedPaths {   // not a Collection: Groovy would interpolate a Collection as [a, b]
    List<Object> items
    String toString() { items.join(' ') }
    boolean asBoolean() { !items.isEmpty() }
}

Object staged(Object value) {
    if (value instanceof List) return new StagedPaths(items: value)
    if (value instanceof Map) return value.collectEntries { k, v -> [k, staged(v)] }
    value
}

String evaluate(String code, Map bindings, Map values = [:]) {
    Map all = bindings.collectEntries { k, v -> [k, staged(v)] } + (values ?: [:])
    new GroovyShell(new Binding(all)).evaluate(code).toString()
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
