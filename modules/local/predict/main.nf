process PREDICT {
    tag "${meta.id}"
    label 'process_low'

    conda "${moduleDir}/environment.yml"
    container 'virnucpro-nf/virnucpro-cpu:0.1.0'

    input:
    tuple val(meta), path(merged, stageAs: 'merged/*')
    path classifier
    val chunk_size

    output:
    tuple val(meta), path("prediction_results.tsv"), emit: predictions
    tuple val("${task.process}"), val('virnucpro'), eval("virnucpro --version | cut -d ' ' -f 2"), emit: versions_virnucpro, topic: versions
    tuple val("${task.process}"), val('python'), eval("python3 --version | cut -d ' ' -f 2"), emit: versions_python, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    predict \\
        --merged ${merged} \\
        --classifier ${classifier} \\
        --chunk-size ${chunk_size} \\
        --output prediction_results.tsv \\
        ${args}
    """

    stub:
    """
    printf 'Sequence_ID\\tPrediction\\tscore1\\tscore2\\n' > prediction_results.tsv
    """
}
