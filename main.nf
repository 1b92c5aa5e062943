#!/usr/bin/env nextflow
/*
 * VirNucPro-NF: viral short-sequence identification (Li et al., Brief. Bioinform. 2025, bbaf224)
 * as a sharded GPU pipeline. Usage: docs/usage.md.
 */

include { validateParameters; paramsSummaryLog; samplesheetToList } from 'plugin/nf-schema'
include { FETCH_MODELS } from './modules/local/fetch_models/main'
include { VIRNUCPRO    } from './workflows/virnucpro'
include { VIRNUCPRO_TRAIN } from './workflows/train'

workflow {

    main:
    validateParameters()
    log.info(paramsSummaryLog(workflow))

    if (params.mode == 'train') {
        // --mode train: a training samplesheet (sample,fasta,gbff,label,group) in, a classifier out (workflows/train.nf)
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
        // --input: a samplesheet (sample,fasta) or one FASTA file, whose name (without extensions) names the sample
        def input = file(params.input, checkIfExists: true)
        ch_samples = input.name.endsWith('.csv')
            ? channel.fromList(samplesheetToList(params.input, "${projectDir}/assets/schema_input.json"))
                .map { meta, fasta -> [meta + [id: meta.id.toString()], fasta] }
            : channel.of([[id: input.name.replaceAll(/\.gz$/, '').replaceAll(/\.(fasta|fas|fa|fna|ffn|fsa|seq|txt)$/, '')], input])

        chunk_size = params.chunk_size.toString().toInteger()
        shard_size = params.shard_size.toString().toInteger()

        // model weights are path inputs; --fetch_models downloads them once (needs a network) and publishes them
        if (params.dnabert_s && params.esm_weights && params.classifier) {
            ch_dnabert_s = channel.value(file(params.dnabert_s, checkIfExists: true))
            ch_esm_weights = channel.value(file(params.esm_weights, checkIfExists: true))
            ch_classifier = channel.value(file(params.classifier, checkIfExists: true))
        }
        else if (params.fetch_models.toString().toBoolean()) {
            FETCH_MODELS(chunk_size)
            ch_dnabert_s = FETCH_MODELS.out.dnabert_s.first()
            ch_esm_weights = FETCH_MODELS.out.esm_weights.first()
            ch_classifier = FETCH_MODELS.out.classifier.first()
        }
        else {
            error("Give --dnabert_s, --esm_weights and --classifier (local paths), or --fetch_models to download them once")
        }
        // the published classifiers are named for the chunk size they were trained on (300_model.pth, 500_model.pth)
        def trained = params.classifier ? (file(params.classifier).name =~ /(300|500)_model/) : null
        if (trained && trained[0][1].toInteger() != chunk_size) {
            log.warn("--classifier ${params.classifier} was trained on ${trained[0][1]} bp chunks, not --chunk_size ${chunk_size}: scores will be unreliable")
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
    }

    // software versions of every process, from the 'versions' topic
    channel.topic('versions')
        .map { process, tool, version -> "${process.tokenize(':').last()}\t${tool}\t${version}" }
        .unique()
        .collectFile(name: 'software_versions.tsv', storeDir: "${params.outdir}/pipeline_info", sort: true, newLine: true)
}
