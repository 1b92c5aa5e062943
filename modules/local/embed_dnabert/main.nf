process EMBED_DNABERT {
    tag "${meta.id}"
    label 'process_medium'
    label 'process_gpu'

    conda "${moduleDir}/environment.yml"
    container 'virnucpro-nf/virnucpro-gpu:0.1.0'

    input:
    tuple val(meta), path(fna)
    path model

    output:
    tuple val(meta), path("*.dnabert.pt"), emit: embeddings
    tuple val("${task.process}"), val('virnucpro'), eval("virnucpro --version | cut -d ' ' -f 2"), emit: versions_virnucpro, topic: versions
    tuple val("${task.process}"), val('python'), eval("python3 --version | cut -d ' ' -f 2"), emit: versions_python, topic: versions
    tuple val("${task.process}"), val('torch'), eval("python3 -c 'import torch; print(torch.__version__)' | head -n 1"), emit: versions_torch, topic: versions
    tuple val("${task.process}"), val('cuda'), eval("python3 -c 'import torch; print(torch.version.cuda)' | head -n 1"), emit: versions_cuda, topic: versions
    tuple val("${task.process}"), val('transformers'), eval("python3 -c 'import importlib.metadata as m; print(m.version(\"transformers\"))' | head -n 1"), emit: versions_transformers, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    // a GPU task insists on CUDA (exit 3 without it) instead of silently running for hours on the CPU
    def device = task.accelerator ? 'cuda' : 'auto'
    """
    export HF_HOME=\$PWD/.hf TORCH_HOME=\$PWD/.torch TRITON_CACHE_DIR=\$PWD/.triton XDG_CACHE_HOME=\$PWD/.cache
    embed-dnabert \\
        --input ${fna} \\
        --model ${model} \\
        --output ${prefix}.dnabert.pt \\
        --device ${device} \\
        ${args}
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.dnabert.pt
    """
}
