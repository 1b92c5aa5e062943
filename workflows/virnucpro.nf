/*
 * VirNucPro: prepare -> (DNABERT-S || ESM-2 per shard) -> merge per shard -> predict per sample -> report per sample
 */

include { FEATURISE } from '../subworkflows/local/featurise/main'
include { PREDICT   } from '../modules/local/predict/main'
include { REPORT    } from '../modules/local/report/main'

workflow VIRNUCPRO {

    take:
    ch_samples        // channel: [ val(meta), path(fasta) ]
    ch_dnabert_s      // channel: path(dnabert_s_dir)        (a value channel)
    ch_esm_weights    // channel: path(esm2_checkpoint)      (a value channel)
    ch_classifier     // channel: path(classifier)           (a value channel)
    ch_no_predictions // channel: path(header-only predictions table, for samples without any kept frame)
    chunk_size        // integer: 300 or 500
    shard_size        // integer: kept frames per shard

    main:
    FEATURISE(ch_samples.map { meta, fasta -> [meta, fasta, []] }, ch_dnabert_s, ch_esm_weights, chunk_size, shard_size)

    // all shards of a sample, in shard order; groupKey releases a sample as soon as its last shard is merged
    ch_predict_input = FEATURISE.out.merged
        .map { meta, pt -> [groupKey(meta.sample, meta.n_shards), meta.shard_id, pt] }
        .groupTuple()
        .map { sample, shard_ids, pts ->
            def ordered = [shard_ids, pts].transpose().sort { pair -> pair[0] }.collect { pair -> pair[1] }
            [[id: sample.toString()], ordered]
        }
    PREDICT(ch_predict_input, ch_classifier, chunk_size)

    // samples whose input has no stop-free frame at all have no shard: they are reported from an empty table
    ch_without_shards = FEATURISE.out.manifest
        .filter { _meta, manifest -> manifest.readLines().size() <= 1 }
        .combine(ch_no_predictions)
        .map { meta, _manifest, empty -> [meta, empty] }

    ch_report_input = PREDICT.out.predictions
        .mix(ch_without_shards)
        .map { meta, predictions -> [meta.id, predictions] }
        .join(FEATURISE.out.chunks.map { meta, chunks -> [meta.id, meta, chunks] }, failOnDuplicate: true, failOnMismatch: true)
        .map { _id, predictions, meta, chunks -> [meta, predictions, chunks] }
    REPORT(ch_report_input, chunk_size)

    emit:
    predictions = PREDICT.out.predictions // channel: [ val(meta), path(prediction_results.tsv) ]
    consensus   = REPORT.out.consensus     // channel: [ val(meta), path(prediction_results_highestscore.tsv) ]
    summary     = REPORT.out.contig_summary // channel: [ val(meta), path(contig_summary.tsv) ]
    html        = REPORT.out.html          // channel: [ val(meta), path(report.html) ]
    multiqc     = REPORT.out.multiqc       // channel: [ val(meta), path(NAME_virnucpro_mqc.json) ]
}
