process MERGE {
    tag "${meta.id}"
    label 'process_low'

    conda "${moduleDir}/environment.yml"
    container 'virnucpro-nf/virnucpro-cpu:0.1.0'

    input:
    tuple val(meta), path(dnabert), path(esm)

    output:
    tuple val(meta), path("*.merged.pt"), emit: merged
    tuple val("${task.process}"), val('virnucpro'), eval("virnucpro --version | cut -d ' ' -f 2"), emit: versions_virnucpro, topic: versions
    tuple val("${task.process}"), val('python'), eval("python3 --version | cut -d ' ' -f 2"), emit: versions_python, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    merge \\
        --dnabert ${dnabert} \\
        --esm ${esm} \\
        --output ${prefix}.merged.pt \\
        ${args}
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.merged.pt
    """
}
