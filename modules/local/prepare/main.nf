process PREPARE {
    tag "${meta.id}"
    label 'process_low'

    conda "${moduleDir}/environment.yml"
    container 'virnucpro-nf/virnucpro-cpu:0.1.0'

    input:
    tuple val(meta), path(fasta), path(annotations) // annotations: the GenBank file (training mode), or []
    val chunk_size
    val shard_size

    output:
    tuple val(meta), path("*.manifest.tsv"), path("*.shard_*.f?a"), emit: shards, optional: true
    tuple val(meta), path("*.manifest.tsv"), emit: manifest
    tuple val(meta), path("*.chunks.tsv"), emit: chunks
    tuple val(meta), path("*.prepare.json"), emit: summary
    tuple val("${task.process}"), val('virnucpro'), eval("virnucpro --version | cut -d ' ' -f 2"), emit: versions_virnucpro, topic: versions
    tuple val("${task.process}"), val('python'), eval("python3 --version | cut -d ' ' -f 2"), emit: versions_python, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    def training = annotations ? "--annotations ${annotations}" : ''
    """
    prepare \\
        --input ${fasta} \\
        --outdir . \\
        --prefix ${prefix} \\
        --chunk-size ${chunk_size} \\
        --shard-size ${shard_size} \\
        ${training} \\
        ${args}
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    printf 'shard_id\\tn_sequences\\tn_residues\\tfna\\tfaa\\nshard_00001\\t1\\t1\\t%s\\t%s\\n' \\
        ${prefix}.shard_00001.fna ${prefix}.shard_00001.faa > ${prefix}.manifest.tsv
    printf 'chunk_id\\tcontig_id\\tstart\\tend\\tlength\\tframes\\n' > ${prefix}.chunks.tsv
    touch ${prefix}.shard_00001.fna ${prefix}.shard_00001.faa ${prefix}.prepare.json
    """
}
