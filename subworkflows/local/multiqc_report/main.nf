/*
 * The run's MultiQC report: the analysis' custom-content files, the software versions of every process (the
 * `versions` topic), the parameter summary and the methods description. Also writes the versions to
 * <outdir>/pipeline_info/ as a table and in MultiQC's YAML.
 */

include { MULTIQC               } from '../../../modules/local/multiqc/main'
include { paramsSummaryMap      } from 'plugin/nf-schema'
include { methodsDescriptionText; softwareVersionsYaml; workflowSummaryYaml; workflowVersion } from '../utils_virnucpro_pipeline'

workflow MULTIQC_REPORT {

    take:
    ch_multiqc_files            // channel: path(file for MultiQC), e.g. each sample's NAME_virnucpro_mqc.json
    multiqc_config              //  string: an extra MultiQC config file (--multiqc_config), or null
    multiqc_logo                //  string: a logo for the report (--multiqc_logo), or null
    multiqc_methods_description //  string: a methods description template (--multiqc_methods_description), or null
    outdir                      //  string: the versions go to <outdir>/pipeline_info/

    main:
    def ch_versions = channel.topic('versions').unique()
    ch_versions
        .map { process, tool, version -> "${process.tokenize(':').last()}\t${tool}\t${version}" }
        .collectFile(name: 'software_versions.tsv', storeDir: "${outdir}/pipeline_info", sort: true, newLine: true)
    def pipeline_version = workflowVersion(workflow.manifest.version, workflow.commitId)
    def ch_versions_yaml = ch_versions
        .toList()
        .map { entries -> softwareVersionsYaml(entries, workflow.manifest.name, pipeline_version, workflow.nextflow.version.toString()) }
        .collectFile(name: 'virnucpro_software_mqc_versions.yml', storeDir: "${outdir}/pipeline_info")

    def summary = workflowSummaryYaml(paramsSummaryMap(workflow, parameters_schema: 'nextflow_schema.json'), workflow.manifest.name)
    def ch_summary = channel.value(summary).collectFile(name: 'workflow_summary_mqc.yaml')
    def methods_template = multiqc_methods_description
        ? file(multiqc_methods_description, checkIfExists: true)
        : file("${projectDir}/assets/methods_description_template.yml", checkIfExists: true)
    def methods = methodsDescriptionText(methods_template.text, workflow.toMap(), workflow.manifest.toMap())
    def ch_methods = channel.value(methods).collectFile(name: 'methods_description_mqc.yaml')

    def configs = [file("${projectDir}/assets/multiqc_config.yml", checkIfExists: true)]
    if (multiqc_config) {
        configs << file(multiqc_config, checkIfExists: true)
    }
    def logo = multiqc_logo ? file(multiqc_logo, checkIfExists: true) : []
    MULTIQC(
        ch_multiqc_files
            .mix(ch_versions_yaml, ch_summary, ch_methods)
            .collect()
            .map { files -> [[id: 'virnucpro'], files, configs, logo, [], []] }
    )

    emit:
    report = MULTIQC.out.report.map { _meta, html -> html } // channel: path(multiqc_report.html)
}
