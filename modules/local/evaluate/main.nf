process EVALUATE {
    tag "${meta.id}"
    label 'process_low'

    conda "${moduleDir}/environment.yml"
    container 'virnucpro-nf/virnucpro-cpu:0.1.0'

    input:
    tuple val(meta), path(merged, stageAs: 'merged/*'), val(labels) // labels: [file name, viral|host, group] per file
    path classifier
    val chunk_size

    output:
    tuple val(meta), path("evaluation.json"), emit: summary
    tuple val(meta), path("evaluation_scores.tsv"), emit: scores
    tuple val(meta), path("evaluation_report.html"), emit: report
    tuple val("${task.process}"), val('virnucpro'), eval("virnucpro --version | cut -d ' ' -f 2"), emit: versions_virnucpro, topic: versions
    tuple val("${task.process}"), val('python'), eval("python3 --version | cut -d ' ' -f 2"), emit: versions_python, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def rows = labels.collect { row -> row.join(' ') }.join(' ')
    """
    export MPLCONFIGDIR=\$PWD/.matplotlib
    printf 'file\\tlabel\\tgroup\\n' > labels.tsv
    printf '%s\\t%s\\t%s\\n' ${rows} >> labels.tsv
    evaluate \\
        --merged ${merged} \\
        --labels labels.tsv \\
        --classifier ${classifier} \\
        --outdir . \\
        --chunk-size ${chunk_size} \\
        --threads ${task.cpus} \\
        ${args}
    """

    stub:
    """
    printf 'Sequence_ID\\tPrediction\\tscore1\\tscore2\\tfile\\tlabel\\n' > evaluation_scores.tsv
    touch evaluation.json evaluation_report.html
    """
}
