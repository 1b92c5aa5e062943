// nfconfig.groovy: resolve the pipeline's configuration for given `-profile` lists the way Nextflow's strict
// config parser does, from the syntax tree of nf-lang (Nextflow's own parser), so that tests can check what a
// process would get without a Nextflow engine.
//   java -cp language-server-all.jar groovy.ui.GroovyMain tools/nfconfig.groovy QUERIES.json > RESOLVED.json
// QUERIES: [{"profiles": "gpu,docker", "configs": ["nextflow.config", ...], "params": {command-line params},
//            "root": pipeline directory (default: the current one),
//            "processes": {"EMBED_ESM": ["process_medium", "process_gpu"]}, "directives": ["accelerator", ...],
//            "settings": ["docker.runOptions", ...],
//            "env": {launch environment seen by `env()`}, "nextflow": "25.10.4" (workflow.nextflow.version),
//            "nvidia_gpus": GPUs the head node shows in /proc/driver/nvidia/gpus (default 0)}]
// The rules follow Nextflow's ConfigDsl (parser v2): statements apply in order; the `profiles` block applies the
// chosen profiles in command-line order at its own position; `includeConfig` merges a file at the current
// scope; command-line params win over config params; `-c` files apply after the first config. Values are
// evaluated when assigned, closures when a task asks for them: process-wide settings, then `withLabel`
// selectors, then `withName` selectors, each in config order. Values plain Groovy cannot evaluate (`6.GB`)
// are kept as their source text. A closure that throws gives {"error": message} for that directive.

import groovy.json.JsonOutput
import groovy.json.JsonSlurper
import nextflow.config.ast.ConfigApplyBlockNode
import nextflow.config.ast.ConfigAssignNode
import nextflow.config.ast.ConfigBlockNode
import nextflow.config.ast.ConfigIncludeNode
import nextflow.config.ast.ConfigNode
import nextflow.config.ast.ConfigStatement
import nextflow.config.control.ConfigParser
import org.codehaus.groovy.ast.ASTNode
import org.codehaus.groovy.ast.expr.ClosureExpression
import org.codehaus.groovy.runtime.InvokerHelper

/** A closure from the config, kept as source and evaluated when a task needs it. */
class Deferred {
    String source
    String toString() { source }
}

/** Nextflow's memory and duration literals (`6.GB`, `4.h`), enough to scale and print them. */
class Quantity {
    Number amount
    String unit
    Quantity multiply(Number factor) { new Quantity(amount: amount * factor, unit: unit) }
    String toString() { "${amount}.${unit}" }
}
['B', 'KB', 'MB', 'GB', 'TB', 'ms', 's', 'm', 'h', 'd'].each { unit ->
    Number.metaClass."get${unit}" = { -> new Quantity(amount: delegate, unit: unit) }
}

/** workflow.nextflow.version: Nextflow's VersionNumber rules (tokens split on '.' and '-', numbers compared as
 *  numbers and the rest as text, missing tokens are '0'), for the comparisons a config makes. */
class EngineVersion {
    String text
    String toString() { text }
    int compareTo(String other) {
        List<String> mine = text.tokenize('.-'), theirs = other.tokenize('.-')
        while( mine.size() < theirs.size() ) mine << '0'
        while( theirs.size() < mine.size() ) theirs << '0'
        for( int i = 0; i < mine.size(); i++ ) {
            int order = mine[i].isInteger() && theirs[i].isInteger() ? mine[i].toInteger() <=> theirs[i].toInteger() : mine[i] <=> theirs[i]
            if( order ) return order
        }
        0
    }
    boolean matches(String condition) {
        condition.tokenize(',').every { check ->
            def m = check.trim() =~ /^([!<=>]*)\s*(\S+)$/
            if( !m ) throw new IllegalArgumentException("Not a valid version check condition: ${check}")
            int order = compareTo(m[0][2] as String)
            switch( m[0][1] ?: '=' ) {
                case ['=', '==']: return order == 0
                case '<': return order < 0
                case '<=': return order <= 0
                case '>': return order > 0
                case '>=': return order >= 0
                case ['!=', '<>']: return order != 0
                default: throw new IllegalArgumentException("Not a version check operator: ${m[0][1]}")
            }
        }
    }
}

/** A value plain Groovy cannot evaluate outside Nextflow: kept as source. */
class Unevaluated {
    String source
    String toString() { source }
}

class Resolver {
    static final ENGINES = ['docker', 'podman', 'singularity', 'apptainer', 'charliecloud', 'sarus', 'shifter']

    Map target = [params: [:]]
    Map cliParams
    List<String> profiles
    File projectDir
    Map<String, String> environment = [:]
    EngineVersion engine = new EngineVersion(text: '25.10.4')

    /** The source text a node spans (nf-lang positions: 1-based, end column exclusive). */
    static String sourceOf(List<String> lines, ASTNode node) {
        (node.lineNumber..node.lastLineNumber).collect { number ->
            String line = lines[number - 1]
            int from = number == node.lineNumber ? node.columnNumber - 1 : 0
            int to = number == node.lastLineNumber ? node.lastColumnNumber - 1 : line.length()
            line.substring(from, to)
        }.join('\n')
    }

    // each expression is compiled once and each file parsed once, however many queries use them
    static final Map<String, Class<Script>> COMPILED = [:]
    static final Map<File, List<ConfigStatement>> PARSED = [:]
    static final GroovyShell SHELL = new GroovyShell()

    Object evaluate(String source, Map variables) {
        def binding = new Binding([params: target.params, projectDir: projectDir.path, baseDir: projectDir.path,
                                   launchDir: new File('.').canonicalPath, env: { String name -> environment[name] }]
                                  + variables)
        def compiled = COMPILED.computeIfAbsent(source, { s -> SHELL.parse("(${s})").class })
        InvokerHelper.createScript(compiled, binding).run()
    }

    static List<ConfigStatement> statementsOf(File file) {
        PARSED.computeIfAbsent(file.canonicalFile, { f ->
            def unit = new ConfigParser().parse(f)
            if (unit.errorCollector.hasErrors()) throw new IllegalArgumentException("${f}: does not parse")
            ((ConfigNode) unit.AST).configStatements
        })
    }

    void apply(File file) {
        walk(file, file.readLines(), statementsOf(file), [])
    }

    void walk(File file, List<String> lines, List<ConfigStatement> statements, List<String> scope) {
        statements.each { statement ->
            if (statement instanceof ConfigAssignNode) {
                assign(scope + statement.names, statement.value instanceof ClosureExpression
                    ? new Deferred(source: sourceOf(lines, statement.value))
                    : eager(sourceOf(lines, statement.value)))
            } else if (statement instanceof ConfigIncludeNode) {
                def name = evaluate(sourceOf(lines, statement.source), [:]).toString()
                def included = new File(name).isAbsolute() ? new File(name) : new File(file.parentFile, name)
                walk(included, included.readLines(), statementsOf(included), scope)
            } else if (statement instanceof ConfigBlockNode && statement.kind) {  // withLabel: / withName:
                walk(file, lines, statement.statements, scope + ["${statement.kind}:${statement.name}".toString()])
            } else if (statement instanceof ConfigBlockNode && statement.name == 'profiles' && !scope) {
                Map<String, ConfigBlockNode> blocks = statement.statements.collectEntries { b -> [b.name, b] }
                profiles.each { name -> if (blocks[name]) walk(file, lines, blocks[name].statements, []) }
            } else if (statement instanceof ConfigBlockNode) {
                walk(file, lines, statement.statements, scope + [statement.name])
            } else if (statement instanceof ConfigApplyBlockNode) {
                statement.statements.each { s -> target.get('plugins', []) << s.arguments[0].text }
            }
        }
    }

    Object eager(String source) {
        try {
            evaluate(source, [:])
        } catch (MissingPropertyException | MissingMethodException ignored) {
            new Unevaluated(source: source)
        }
    }

    void assign(List<String> names, Object value) {
        if (names.size() == 2 && names[0] == 'params' && cliParams.containsKey(names[1])) return
        Map context = target
        names.init().each { name -> context = (Map) context.computeIfAbsent(name, { k -> [:] }) }
        context[names.last()] = value
    }

    Object setting(String dotted) {
        dotted.tokenize('.').inject(target) { value, name -> value instanceof Map ? value[name] : null }
    }

    List<String> enabledEngines() {
        ENGINES.findAll { engine -> setting("${engine}.enabled") == true }
    }

    /** What a task of this process gets for each directive: process-wide, then withLabel, then withName. */
    Map directives(String name, List<String> labels, List<String> wanted) {
        Map process = (Map) (target.process ?: [:])
        Map raw = process.findAll { k, v -> !k.startsWith('withLabel:') && !k.startsWith('withName:') }
        process.each { k, v -> if (k.startsWith('withLabel:') && labels.any { l -> matches(k - 'withLabel:', l) }) raw += v }
        process.each { k, v -> if (k.startsWith('withName:') && [name, "VIRNUCPRO:${name}"].any { n -> matches(k - 'withName:', n) }) raw += v }
        def engines = enabledEngines()
        def workflow = [profile: profiles.join(','), containerEngine: engines ? engines[0] : null, nextflow: [version: engine]]
        def task = [process: name, attempt: 1, ext: [:], executor: raw['executor']]
        def value = { String key ->
            def v = raw[key]
            v instanceof Deferred ? evaluate(v.source, [workflow: workflow, task: task]).call() : v
        }
        def failed = [:]
        def attempt = { String key ->
            try {
                value(key)
            } catch( IllegalStateException error ) {
                failed[key] = [error: error.message]
                null
            }
        }
        def accelerator = attempt('accelerator')
        task.accelerator = accelerator instanceof Number ? [request: accelerator, limit: accelerator]
            : accelerator instanceof Map ? [request: accelerator.request ?: accelerator.limit] + accelerator
            : accelerator  // as Nextflow's AcceleratorResource: a number or a limit alone sets both
        wanted.collectEntries { key ->
            def got = key == 'accelerator' ? task.accelerator : attempt(key)
            [key, failed[key] ?: got]
        }
    }

    /** Nextflow's selector rule: a regular expression on the whole name, `!` negates. */
    static boolean matches(String pattern, String value) {
        pattern.startsWith('!') ? !(value ==~ pattern.substring(1)) : value ==~ pattern
    }
}

Object plain(Object value) {
    if (value instanceof Map) return value.collectEntries { k, v -> [k, plain(v)] }
    if (value instanceof Collection) return value.collect { v -> plain(v) }
    if (value instanceof Closure) return '<closure>'  // nested in an evaluated value, e.g. publishDir's path
    if (value instanceof Deferred || value instanceof Unevaluated || value instanceof Quantity
        || value instanceof GString) return value.toString()
    value
}

// the config reads the head node's GPUs from /proc/driver/nvidia/gpus: a query sets how many there are
def realList = File.metaClass.getMetaMethod('list', [] as Class[])
def nvidiaGpus = 0
File.metaClass.list = { ->
    delegate.path == '/proc/driver/nvidia/gpus' ? (nvidiaGpus ? (0..<nvidiaGpus).collect { i -> "0000:0${i}:00.0" } as String[] : null)
        : realList.invoke(delegate)
}

def queries = new JsonSlurper().parse(new File(args[0]))
def results = queries.collect { query ->
    nvidiaGpus = query.nvidia_gpus ?: 0
    def projectDir = new File(query.root ?: '.').canonicalFile
    def resolver = new Resolver(cliParams: query.params ?: [:], profiles: (query.profiles ?: '').tokenize(','),
                                projectDir: projectDir, environment: query.env ?: [:],
                                engine: new EngineVersion(text: query.nextflow ?: '25.10.4'))
    resolver.target.params.putAll(query.params ?: [:])
    (query.configs ?: ['nextflow.config']).each { path -> resolver.apply(new File(projectDir, path)) }
    [
        profiles : query.profiles,
        engines  : resolver.enabledEngines(),
        params   : plain(resolver.target.params),
        plugins  : resolver.target.plugins ?: [],
        settings : (query.settings ?: []).collectEntries { s -> [s, plain(resolver.setting(s))] },
        processes: (query.processes ?: [:]).collectEntries { name, labels ->
            [name, plain(resolver.directives(name, labels, query.directives ?: []))]
        },
    ]
}
println JsonOutput.prettyPrint(JsonOutput.toJson(results))
