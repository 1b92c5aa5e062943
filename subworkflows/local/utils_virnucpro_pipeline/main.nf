/*
 * Start-up and completion of the pipeline: this layout's equivalent of the nf-core template's
 * PIPELINE_INITIALISATION / PIPELINE_COMPLETION (with its utils_nextflow_pipeline, utils_nfcore_pipeline and
 * utils_nfschema_plugin), with the same parameters: --version, --help / --help_full / --show_hidden,
 * --validate_params, --monochrome_logs, --email / --email_on_fail / --plaintext_email, --outdir (params JSON in
 * pipeline_info/). The functions at the end are plain Groovy; tests/test_nextflow_utils.py runs them.
 */

include { paramsHelp        } from 'plugin/nf-schema'
include { paramsSummaryLog  } from 'plugin/nf-schema'
include { paramsSummaryMap  } from 'plugin/nf-schema'
include { samplesheetToList } from 'plugin/nf-schema'
include { validateParameters } from 'plugin/nf-schema'

workflow PIPELINE_INITIALISATION {

    take:
    version           // boolean: print the pipeline's version and exit
    validate_params   // boolean: validate the parameters against nextflow_schema.json
    monochrome_logs   // boolean: no ANSI colours in the log
    nextflow_cli_args //    list: positional arguments of `nextflow run` (there should be none)
    outdir            //  string: the run's parameters go to <outdir>/pipeline_info/params_<time>.json
    input             //  string: a samplesheet (sample,fasta) or one FASTA file
    help              // boolean or string: the help, or the help of one parameter, then exit
    help_full         // boolean: the help with every parameter's help text
    show_hidden       // boolean: also list the hidden parameters in the help
    mode              //  string: 'predict', or 'train' (main.nf reads the training samplesheet itself)
    parameters        //     map: all parameters of the run, for pipeline_info/params_<time>.json

    main:
    if (version) {
        log.info("${workflow.manifest.name} ${workflowVersion(workflow.manifest.version, workflow.commitId)}")
        System.exit(0)
    }

    def colors = logColours(monochrome_logs)
    def header = "${colors.purple}${workflow.manifest.name} ${workflowVersion(workflow.manifest.version, workflow.commitId)}${colors.reset}"
    def footer = citationsText(workflow.manifest.homePage)
    if (help || help_full) {
        def options = [beforeText: header, afterText: footer, showHidden: show_hidden, fullHelp: help_full,
                       command: "nextflow run ${workflow.manifest.name} -profile <docker/singularity/.../institute> --input samplesheet.csv --outdir <OUTDIR> --dnabert_s <DIR> --esm_weights <FILE> --classifier <FILE>"]
        log.info(paramsHelp(options, help instanceof String && help != 'true' ? help : ''))
        System.exit(0)
    }
    log.info(header)
    log.info(paramsSummaryLog(workflow))
    log.info(footer)
    if (validate_params) {
        validateParameters()
    }
    if (outdir) {
        dumpParametersToJson(outdir, parameters)
    }
    checkConfigProvided()
    checkProfile(workflow.profile, nextflow_cli_args)

    // --input: a samplesheet (sample,fasta), or one FASTA file whose name (without extensions) names the sample
    if (!input) {
        error("Give --input: a samplesheet (sample,fasta) or one FASTA file (docs/usage.md, \"Input\")")
    }
    def input_file = file(input, checkIfExists: true)
    ch_samplesheet = mode == 'train' ? channel.empty() : (input_file.name.endsWith('.csv')
        ? channel.fromList(samplesheetToList(input, "${projectDir}/assets/schema_input.json"))
            .map { meta, fasta -> [meta + [id: meta.id.toString()], fasta] }
        : channel.of([[id: sampleName(input_file.name)], input_file]))

    emit:
    samplesheet = ch_samplesheet // channel: [ val(meta), path(fasta) ] (empty in --mode train)
}

workflow PIPELINE_COMPLETION {

    take:
    email           //  string: where the completion e-mail goes
    email_on_fail   //  string: where it goes only when the run fails
    plaintext_email // boolean: plain text instead of HTML
    outdir          //  string: pipeline_report.{html,txt} go to <outdir>/pipeline_info/
    monochrome_logs // boolean: no ANSI colours in the log
    multiqc_report  // channel: the MultiQC report, attached to the e-mail when it is small enough
    max_email_size  //  string: the largest report that is attached (--max_multiqc_email_size)

    main:
    def summary_params = paramsSummaryMap(workflow, parameters_schema: 'nextflow_schema.json')
    def multiqc_reports = multiqc_report.toList()

    workflow.onComplete {
        if (email || email_on_fail) {
            completionEmail(summary_params, email, email_on_fail, plaintext_email, outdir, monochrome_logs,
                multiqc_reports.isBound() ? multiqc_reports.getVal() : [], max_email_size)
        }
        completionSummary(monochrome_logs)
    }

    workflow.onError {
        log.error(errorHint(workflow.manifest.homePage, workflow.launchDir.toString()))
    }
}

/*
 * Start-up checks and files
 */

// Warn when neither a profile nor a config file says where and how to run (the nf-core template's warning)
def checkConfigProvided() {
    if (workflow.profile == 'standard' && workflow.configFiles.size() <= 1) {
        log.warn(noProfileWarning(workflow.manifest.name))
    }
}

// Refuse `-profile a,` (a profile list with a trailing comma) and warn about positional arguments
def checkProfile(String profile, List nextflow_cli_args) {
    def problem = profileProblem(profile, nextflow_cli_args)
    if (problem.error) {
        error(problem.error)
    }
    if (problem.warning) {
        log.warn(problem.warning)
    }
}

// The run's parameters as JSON: <outdir>/pipeline_info/params_<yyyy-MM-dd_HH-mm-ss>.json
def dumpParametersToJson(String outdir, Map parameters) {
    def timestamp = new java.util.Date().format('yyyy-MM-dd_HH-mm-ss')
    def target = file("${outdir}/pipeline_info")
    target.mkdirs()
    target.resolve("params_${timestamp}.json").text = groovy.json.JsonOutput.prettyPrint(groovy.json.JsonOutput.toJson(parameters)) + '\n'
}

/*
 * Completion: log line and e-mail
 */

def completionSummary(boolean monochrome_logs) {
    def colors = logColours(monochrome_logs)
    def name = workflow.manifest.name
    if (!workflow.success) {
        log.info("-${colors.purple}[${name}]${colors.red} Pipeline completed with errors${colors.reset}-")
    }
    else if (workflow.stats.ignoredCount > 0) {
        log.info("-${colors.purple}[${name}]${colors.yellow} Pipeline completed successfully, but with errored process(es)${colors.reset}-")
    }
    else {
        log.info("-${colors.purple}[${name}]${colors.green} Pipeline completed successfully${colors.reset}-")
    }
}

// Render assets/email_template.{txt,html}, send the e-mail (sendmail, else mail), and keep both in pipeline_info/
def completionEmail(Map summary_params, email, email_on_fail, boolean plaintext_email, String outdir, boolean monochrome_logs, multiqc_reports, max_email_size) {
    def address = email ?: (!workflow.success ? email_on_fail : null)
    def fields = emailFields(workflow, summary_params, workflowVersion(workflow.manifest.version, workflow.commitId))
    def engine = new groovy.text.GStringTemplateEngine()
    def text = engine.createTemplate(file("${projectDir}/assets/email_template.txt").text).make(fields).toString()
    def html = engine.createTemplate(file("${projectDir}/assets/email_template.html").text).make(fields).toString()

    def reports = multiqc_reports instanceof List ? multiqc_reports.flatten() : [multiqc_reports]
    def attachment = reports ? reports[0] : null
    def max_size = (max_email_size as MemoryUnit).toBytes()
    def colors = logColours(monochrome_logs)
    if (address) {
        def subject = "[${workflow.manifest.name}] ${workflow.success ? 'Successful' : 'FAILED'}: ${workflow.runName}"
        def sent = false
        if (!plaintext_email) {
            def mail = engine.createTemplate(file("${projectDir}/assets/sendmail_template.txt").text).make(
                [email: address, subject: subject, email_txt: text, email_html: html,
                 mqcFile: attachment, mqcMaxSize: max_size]).toString()
            sent = sendWith(['sendmail', '-t'], mail)
        }
        if (!sent) {
            sent = sendWith(['mail', '-s', subject, address], text)
        }
        if (sent) {
            log.info("-${colors.purple}[${workflow.manifest.name}]${colors.green} Sent summary e-mail to ${address}${colors.reset}-")
        }
        else {
            log.warn("[${workflow.manifest.name}] Could not send the summary e-mail to ${address}: neither sendmail nor mail worked")
        }
    }
    def info = file("${outdir}/pipeline_info")
    info.mkdirs()
    info.resolve('pipeline_report.html').text = html
    info.resolve('pipeline_report.txt').text = text
}

// Pipe `message` into `command`; true when it ran and exited 0
def sendWith(List command, String message) {
    try {
        def process = command.execute()
        process.withWriter { writer -> writer << message }
        process.waitFor()
        return process.exitValue() == 0
    }
    catch (IOException failure) {
        log.debug("${command[0]}: ${failure.message}")
        return false
    }
}

/*
 * Plain functions (no side effects): tests/test_nextflow_utils.py evaluates them with Groovy
 */

// 'v0.1.0-g1a2b3c4': the manifest version and, when run from a git checkout, the short commit
def workflowVersion(version, commitId) {
    def text = version ? (version.toString().startsWith('v') ? version.toString() : "v${version}") : ''
    return commitId ? "${text}-g${commitId.toString().substring(0, 7)}".toString() : text
}

// A sample name from a FASTA file name: without .gz and the FASTA extension
def sampleName(String filename) {
    // as virnucpro's default prefix (virnucpro.prepare.default_prefix): compression, then the FASTA extension
    return filename.replaceAll(/\.(gz|bgz|bz2|xz)$/, '').replaceAll(/\.(fasta|fas|fa|fna|ffn|fsa|seq|txt)$/, '')
}

// [error: ..., warning: ...] for a -profile value and the positional arguments of `nextflow run`
def profileProblem(String profile, List nextflow_cli_args) {
    def problem = [error: null, warning: null]
    if (profile.endsWith(',')) {
        problem.error = "-profile '${profile}' ends with a comma: remove it (a space after a comma, as in `-profile test, docker`, splits the list)"
    }
    if (nextflow_cli_args && nextflow_cli_args[0]) {
        problem.warning = "Positional argument '${nextflow_cli_args[0]}' ignored: this pipeline takes none (a space after a comma in -profile, as in `-profile test, docker`, makes one)"
    }
    return problem
}

def noProfileWarning(String name) {
    return """\
        [${name}] No -profile and no -c config file: every task runs on this machine with the software on PATH.
          Usually you want one of
            -profile docker | singularity | apptainer | podman | conda  (software), plus gpu for the embedding steps
            -profile <institution>   an nf-core/configs site profile (https://github.com/nf-core/configs)
            -c my.config             your own configuration
          docs/usage.md lists every profile.""".stripIndent()
}

def citationsText(String homePage) {
    return """\
        * VirNucPro
            Li et al., Briefings in Bioinformatics 26(3) (2025), https://doi.org/10.1093/bib/bbaf224
        * Software of this run (DNABERT-S, ESM-2, Nextflow, nf-schema, MultiQC, ...)
            ${homePage}/blob/main/CITATIONS.md""".stripIndent()
}

def errorHint(String homePage, String launchDir) {
    return "Pipeline failed. The error and the failing task's work directory are above; the full log is ${launchDir}/.nextflow.log. " +
        "Common causes and fixes: ${homePage}/blob/main/docs/usage.md"
}

// ANSI colours, or empty strings for --monochrome_logs
def logColours(boolean monochrome_logs) {
    def codes = [reset: '0', bold: '1', dim: '2', red: '0;31', green: '0;32', yellow: '0;33', blue: '0;34', purple: '0;35', cyan: '0;36']
    return codes.collectEntries { name, code -> [name, monochrome_logs ? '' : "\033[${code}m".toString()] }
}

// The fields that assets/email_template.{txt,html} use
def emailFields(workflowMetadata, Map summary_params, String version) {
    def summary = [:]
    summary_params.keySet().sort().each { group -> summary << summary_params[group] }
    summary['Date started'] = workflowMetadata.start
    summary['Date completed'] = workflowMetadata.complete
    summary['Pipeline script'] = workflowMetadata.scriptFile
    summary['Pipeline script hash'] = workflowMetadata.scriptId
    if (workflowMetadata.repository) {
        summary['Pipeline repository'] = workflowMetadata.repository
    }
    if (workflowMetadata.commitId) {
        summary['Pipeline commit'] = workflowMetadata.commitId
    }
    if (workflowMetadata.revision) {
        summary['Pipeline revision'] = workflowMetadata.revision
    }
    summary['Nextflow version'] = workflowMetadata.nextflow.version
    summary['Nextflow build'] = workflowMetadata.nextflow.build
    return [
        name        : workflowMetadata.manifest.name,
        version     : version,
        runName     : workflowMetadata.runName,
        success     : workflowMetadata.success,
        dateComplete: workflowMetadata.complete,
        duration    : workflowMetadata.duration,
        exitStatus  : workflowMetadata.exitStatus,
        errorMessage: workflowMetadata.errorMessage ?: 'None',
        errorReport : workflowMetadata.errorReport ?: 'None',
        commandLine : workflowMetadata.commandLine,
        projectDir  : workflowMetadata.projectDir,
        summary     : summary,
    ]
}

// Software versions in MultiQC's format (a *_mqc_versions.yml file): process -> tool -> version, then the workflow
def softwareVersionsYaml(List entries, String pipeline, String pipelineVersion, String nextflowVersion) {
    def byProcess = new TreeMap()
    entries.each { entry ->
        def (process, tool, version) = entry
        byProcess.computeIfAbsent(process.toString().tokenize(':').last(), { _key -> new TreeMap() })[tool.toString()] = version
    }
    def lines = []
    byProcess.each { process, tools ->
        lines << "${process}:".toString()
        tools.each { tool, version -> lines << "  ${tool}: ${yamlQuoted(version)}".toString() }
    }
    lines << 'Workflow:'
    lines << "  ${pipeline}: ${yamlQuoted(pipelineVersion)}".toString()
    lines << "  Nextflow: ${yamlQuoted(nextflowVersion)}".toString()
    return lines.join('\n') + '\n'
}

// A YAML single-quoted scalar
def yamlQuoted(value) {
    return "'" + (value == null ? '' : value.toString()).replace("'", "''") + "'"
}

def htmlEscaped(value) {
    return value.toString().replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
}

// The parameter summary as a MultiQC custom-content section (workflow_summary_mqc.yaml)
def workflowSummaryYaml(Map summary_params, String pipeline) {
    def html = new StringBuilder()
    summary_params.each { group, group_params ->
        if (group_params) {
            html << "    <p style=\"font-size:110%\"><b>${htmlEscaped(group)}</b></p>\n"
            html << "    <dl class=\"dl-horizontal\">\n"
            group_params.keySet().sort().each { name ->
                def value = group_params[name]
                def shown = value == null || value == '' ? '<span style="color:#999999;">N/A</span>' : htmlEscaped(value)
                html << "        <dt>${htmlEscaped(name)}</dt><dd><samp>${shown}</samp></dd>\n"
            }
            html << "    </dl>\n"
        }
    }
    return """\
        id: '${pipeline.replace('/', '-')}-summary'
        description: ' - the parameters of this run, collected when it started.'
        section_name: '${pipeline} Workflow Summary'
        section_href: 'https://github.com/${pipeline}'
        plot_type: 'html'
        data: |
        """.stripIndent() + html.toString()
}

// In-text citations and references of the tools this pipeline runs, for the methods description
def toolCitationText() {
    return 'Tools used in the workflow: VirNucPro (Li et al. 2025), DNABERT-S (Zhou et al. 2024), ESM-2 (Lin et al. 2023), ' +
        'PyTorch (Paszke et al. 2019), Nextflow (Di Tommaso et al. 2017), nf-schema and MultiQC (Ewels et al. 2016).'
}

def toolBibliographyText() {
    return [
        'Li, J. et al. (2025). VirNucPro. Briefings in Bioinformatics, 26(3), bbaf224. doi: <a href="https://doi.org/10.1093/bib/bbaf224">10.1093/bib/bbaf224</a>',
        'Zhou, Z. et al. (2024). DNABERT-S: learning species-aware DNA embedding with genome foundation models. arXiv: <a href="https://arxiv.org/abs/2402.08777">2402.08777</a>',
        'Lin, Z. et al. (2023). Evolutionary-scale prediction of atomic-level protein structure with a language model. Science, 379(6637), 1123-1130. doi: <a href="https://doi.org/10.1126/science.ade2574">10.1126/science.ade2574</a>',
        'Paszke, A. et al. (2019). PyTorch: an imperative style, high-performance deep learning library. Advances in Neural Information Processing Systems 32. doi: <a href="https://doi.org/10.48550/arXiv.1912.01703">10.48550/arXiv.1912.01703</a>',
        'Ewels, P., Magnusson, M., Lundin, S. &amp; Käller, M. (2016). MultiQC: summarize analysis results for multiple tools and samples in a single report. Bioinformatics, 32(19), 3047-3048. doi: <a href="https://doi.org/10.1093/bioinformatics/btw354">10.1093/bioinformatics/btw354</a>',
    ].collect { reference -> "<li>${reference}</li>" }.join('\n    ')
}

// Render the methods description (assets/methods_description_template.yml) with the run's metadata
def methodsDescriptionText(String template, Map workflowMap, Map manifestMap) {
    def dois = (manifestMap.doi ?: '').toString().tokenize(',').collect { doi -> doi.trim().replace('https://doi.org/', '') }.findAll { doi -> doi }
    def binding = [
        workflow         : workflowMap + [manifest: manifestMap],
        doi_text         : dois.collect { doi -> "(doi: <a href='https://doi.org/${doi}'>${doi}</a>)" }.join(', '),
        nodoi_text       : dois ? '' : '<li>Cite the version of the pipeline you used: its release tag on GitHub (no DOI has been minted yet).</li>',
        tool_citations   : toolCitationText(),
        tool_bibliography: toolBibliographyText(),
    ]
    return new groovy.text.SimpleTemplateEngine().createTemplate(template).make(binding).toString()
}
