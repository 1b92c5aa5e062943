process TRAIN {
    tag "${meta.id}"
    label 'process_medium'
    label 'process_gpu'

    conda "${moduleDir}/environment.yml"
    container 'virnucpro-nf/virnucpro-gpu:0.1.0'

    input:
    tuple val(meta), path(merged, stageAs: 'merged/*'), val(labels) // labels: [file name, viral|host, group] per file
    val chunk_size

    output:
    tuple val(meta), path("classifier.safetensors"), emit: classifier
    tuple val(meta), path("*_model.pth"), emit: pth, optional: true
    tuple val(meta), path("metrics.tsv"), emit: metrics
    tuple val(meta), path("training.json"), emit: summary
    tuple val(meta), path("training_report.html"), emit: report
    tuple val("${task.process}"), val('virnucpro'), eval("virnucpro --version | cut -d ' ' -f 2"), emit: versions_virnucpro, topic: versions
    tuple val("${task.process}"), val('python'), eval("python3 --version | cut -d ' ' -f 2"), emit: versions_python, topic: versions
    tuple val("${task.process}"), val('torch'), eval("python3 -c 'import torch; print(torch.__version__)' | head -n 1"), emit: versions_torch, topic: versions
    tuple val("${task.process}"), val('cuda'), eval("python3 -c 'import torch; print(torch.version.cuda)' | head -n 1"), emit: versions_cuda, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    // a GPU task insists on CUDA (exit 3 without it) instead of silently running for hours on the CPU
    def device = task.accelerator ? 'cuda' : 'auto'
    // file names, labels and groups are single words (the samplesheet schema): one printf writes every row
    def rows = labels.collect { row -> row.join(' ') }.join(' ')
    """
    export MPLCONFIGDIR=\$PWD/.matplotlib
    printf 'file\\tlabel\\tgroup\\n' > labels.tsv
    printf '%s\\t%s\\t%s\\n' ${rows} >> labels.tsv
    train \\
        --merged ${merged} \\
        --labels labels.tsv \\
        --outdir . \\
        --chunk-size ${chunk_size} \\
        --threads ${task.cpus} \\
        --device ${device} \\
        ${args}
    """

    stub:
    """
    printf 'epoch\\tlr\\ttrain_loss\\ttest_loss\\taccuracy\\tprecision\\trecall\\tf1\\troc_auc\\timproved\\n' > metrics.tsv
    touch classifier.safetensors training.json training_report.html
    """
}
