process FETCH_MODELS {
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container 'virnucpro-nf/virnucpro-cpu:0.1.0'

    input:
    val chunk_size

    output:
    path "models/dnabert_s", emit: dnabert_s
    path "models/esm2/esm2_t36_3B_UR50D.pt", emit: esm_weights
    path "models/classifier/${chunk_size}_model.pth", emit: classifier
    // no version outputs: Nextflow ignores storeDir (the persistent model cache, conf/modules.config) for a
    // process with any output that is not a path or val (TaskProcessor.isInvalidStoreDir); the image's
    // versions are reported by every other process

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    virnucpro fetch-models --dest models ${args}
    """

    stub:
    """
    mkdir -p models/dnabert_s models/esm2 models/classifier
    touch models/esm2/esm2_t36_3B_UR50D.pt models/classifier/${chunk_size}_model.pth
    """
}
