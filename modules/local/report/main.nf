process REPORT {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container 'virnucpro-nf/virnucpro-cpu:0.1.0'

    input:
    tuple val(meta), path(predictions), path(chunks)
    val chunk_size

    output:
    tuple val(meta), path("prediction_results_highestscore.tsv"), emit: consensus
    tuple val(meta), path("contig_summary.tsv"), emit: contig_summary
    tuple val(meta), path("summary.json"), emit: summary
    tuple val(meta), path("report.html"), emit: html
    tuple val(meta), path("*_virnucpro_mqc.json"), emit: multiqc
    tuple val("${task.process}"), val('virnucpro'), eval("virnucpro --version | cut -d ' ' -f 2"), emit: versions_virnucpro, topic: versions
    tuple val("${task.process}"), val('python'), eval("python3 --version | cut -d ' ' -f 2"), emit: versions_python, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    report \\
        --predictions ${predictions} \\
        --chunks ${chunks} \\
        --chunk-size ${chunk_size} \\
        --outdir . \\
        ${args}
    """

    stub:
    """
    printf 'Modified_ID\\tIs_Virus\\n' > prediction_results_highestscore.tsv
    touch contig_summary.tsv summary.json report.html "\$(basename ${chunks} .chunks.tsv)_virnucpro_mqc.json"
    """
}
