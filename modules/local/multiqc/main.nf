// MultiQC, written to the interface of nf-core/modules' `multiqc` module (same inputs, outputs, container and
// options; see meta.yml), kept local because nf-core tools cannot install modules without GitHub.
process MULTIQC {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "${workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container
        ? 'https://community-cr-prod.seqera.io/docker/registry/v2/blobs/sha256/c8/c8e346f4f6080eadf1253505e6ff09ef004454fc18e8d672006fd7b222cc412e/data'
        : 'community.wave.seqera.io/library/multiqc:1.35--c17fb751507e9dfc'}"

    input:
    tuple val(meta), path(multiqc_files, stageAs: "?/*"), path(multiqc_config, stageAs: "?/*"), path(multiqc_logo), path(replace_names), path(sample_names)

    output:
    tuple val(meta), path("*.html"), emit: report
    tuple val(meta), path("*_data"), emit: data
    tuple val(meta), path("*_plots"), emit: plots, optional: true
    // MultiQC's own version is not sent to the versions topic, which MultiQC reads: it would wait for itself
    tuple val("${task.process}"), val('multiqc'), eval('multiqc --version | sed "s/.* //"'), emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def configs = [multiqc_config].flatten().findAll { config -> config }.collect { config -> "--config ${config}" }.join(' ')
    def filename = task.ext.prefix ? "--filename ${task.ext.prefix}.html" : ''
    def logo = multiqc_logo ? "--cl-config 'custom_logo: \"${multiqc_logo}\"'" : ''
    def replace = replace_names ? "--replace-names ${replace_names}" : ''
    def samples = sample_names ? "--sample-names ${sample_names}" : ''
    """
    multiqc \\
        --force \\
        ${args} \\
        ${configs} \\
        ${filename} \\
        ${logo} \\
        ${replace} \\
        ${samples} \\
        .
    """

    stub:
    def prefix = task.ext.prefix ?: 'multiqc_report'
    """
    mkdir multiqc_data multiqc_plots
    touch multiqc_data/multiqc.log multiqc_plots/.stub ${prefix}.html
    """
}
