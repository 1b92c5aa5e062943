#!/usr/bin/env nextflow
/*
 * VirNucPro-NF: viral short-sequence identification (Li et al., Brief. Bioinform. 2025, bbaf224)
 * as a sharded GPU pipeline. https://github.com/virnucpro-nf/virnucpro-nf; usage: docs/usage.md.
 */

include { samplesheetToList       } from 'plugin/nf-schema'
include { FETCH_MODELS            } from './modules/local/fetch_models/main'
include { MULTIQC_REPORT          } from './subworkflows/local/multiqc_report'
include { PIPELINE_COMPLETION     } from './subworkflows/local/utils_virnucpro_pipeline'
include { PIPELINE_INITIALISATION } from './subworkflows/local/utils_virnucpro_pipeline'
include { VIRNUCPRO               } from './workflows/virnucpro'
include { VIRNUCPRO_TRAIN         } from './workflows/train'

/*
 * Prediction: the models (local paths, or --fetch_models), then the sharded analysis of every sample
 */
workflow VIRNUCPRO_PREDICTION {

    take:
    ch_samples   // channel: [ val(meta), path(fasta) ]
    dnabert_s    //  string: the DNABERT-S directory (--dnabert_s), or null
    esm_weights  //  string: the ESM-2 checkpoint (--esm_weights), or null
    classifier   //  string: the classifier (--classifier), or null
    fetch_models // boolean: download the three models once instead (--fetch_models)
    chunk_size   // integer: 300 or 500 (--chunk_size)
    shard_size   // integer: kept frames per shard (--shard_size)

    main:
    // model weights are path inputs; --fetch_models downloads them once (needs a network) and publishes them
    if (dnabert_s && esm_weights && classifier) {
        ch_dnabert_s = channel.value(file(dnabert_s, checkIfExists: true))
        ch_esm_weights = channel.value(file(esm_weights, checkIfExists: true))
        ch_classifier = channel.value(file(classifier, checkIfExists: true))
    }
    else if (fetch_models) {
        // FETCH_MODELS takes only a value, so its outputs are value channels already (Nextflow
        // TaskProcessor.groovy:571); `.first()` on them would only warn (OperatorImpl.groovy:461)
        FETCH_MODELS(chunk_size)
        ch_dnabert_s = FETCH_MODELS.out.dnabert_s
        ch_esm_weights = FETCH_MODELS.out.esm_weights
        ch_classifier = FETCH_MODELS.out.classifier
    }
    else {
        error("Give --dnabert_s, --esm_weights and --classifier (local paths), or --fetch_models to download them once")
    }
    // the published classifiers are named for the chunk size they were trained on (300_model.pth, 500_model.pth)
    def trained = classifier ? (file(classifier).name =~ /(300|500)_model/) : null
    if (trained && trained[0][1].toInteger() != chunk_size) {
        log.warn("--classifier ${classifier} was trained on ${trained[0][1]} bp chunks, not --chunk_size ${chunk_size}: scores will be unreliable")
    }

    VIRNUCPRO(
        ch_samples,
        ch_dnabert_s,
        ch_esm_weights,
        ch_classifier,
        channel.value(file("${projectDir}/assets/NO_PREDICTIONS.tsv", checkIfExists: true)),
        chunk_size,
        shard_size,
    )

    emit:
    multiqc_files = VIRNUCPRO.out.multiqc.map { _meta, json -> json } // channel: path(NAME_virnucpro_mqc.json)
}

workflow {

    main:
    PIPELINE_INITIALISATION(
        params.version,
        params.validate_params,
        params.monochrome_logs,
        args,
        params.outdir,
        params.input,
        params.help,
        params.help_full,
        params.show_hidden,
        params.mode,
        params,
    )

    // the analysis: prediction (the default), or --mode train: a training samplesheet (sample,fasta,gbff,label,group)
    // in, a classifier out (workflows/train.nf, docs/training.md)
    ch_multiqc_files = channel.empty()
    if (params.mode == 'train') {
        if (!params.dnabert_s || !params.esm_weights) {
            error("--mode train needs --dnabert_s and --esm_weights (local paths: `virnucpro fetch-models` downloads them)")
        }
        VIRNUCPRO_TRAIN(
            samplesheetToList(params.input, "${projectDir}/assets/schema_train.json"),
            params.holdout_samples ? params.holdout_samples.toString().tokenize(',').collect { name -> name.trim() } : [],
            channel.value(file(params.dnabert_s, checkIfExists: true)),
            channel.value(file(params.esm_weights, checkIfExists: true)),
            params.chunk_size.toString().toInteger(),
            params.shard_size.toString().toInteger(),
        )
    }
    else {
        VIRNUCPRO_PREDICTION(
            PIPELINE_INITIALISATION.out.samplesheet,
            params.dnabert_s,
            params.esm_weights,
            params.classifier,
            params.fetch_models.toString().toBoolean(),
            params.chunk_size.toString().toInteger(),
            params.shard_size.toString().toInteger(),
        )
        ch_multiqc_files = VIRNUCPRO_PREDICTION.out.multiqc_files
    }

    MULTIQC_REPORT(
        ch_multiqc_files,
        params.multiqc_config,
        params.multiqc_logo,
        params.multiqc_methods_description,
        params.outdir,
    )

    PIPELINE_COMPLETION(
        params.email,
        params.email_on_fail,
        params.plaintext_email,
        params.outdir,
        params.monochrome_logs,
        MULTIQC_REPORT.out.report,
        params.max_multiqc_email_size,
    )
}
