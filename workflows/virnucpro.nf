/*
 * VirNucPro: prepare -> (DNABERT-S || ESM-2 per shard) -> merge per shard -> predict per sample -> report per sample
 */

include { PREPARE       } from '../modules/local/prepare/main'
include { EMBED_DNABERT } from '../modules/local/embed_dnabert/main'
include { EMBED_ESM     } from '../modules/local/embed_esm/main'
include { MERGE         } from '../modules/local/merge/main'
include { PREDICT       } from '../modules/local/predict/main'
include { REPORT        } from '../modules/local/report/main'

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
    PREPARE(ch_samples, chunk_size, shard_size)

    // one item per shard, keyed by the String "<sample>.<shard_id>"; the manifest knows every sample's shard count
    ch_shards = PREPARE.out.shards
        .flatMap { meta, manifest, files ->
            def rows = manifest.splitCsv(header: true, sep: '\t')
            def byName = [files].flatten().collectEntries { f -> [f.name, f] }
            rows.collect { row ->
                def shard = meta + [id: "${meta.id}.${row.shard_id}".toString(), sample: meta.id, shard_id: row.shard_id, n_shards: rows.size()]
                [shard, byName[row.fna], byName[row.faa]]
            }
        }

    EMBED_DNABERT(ch_shards.map { meta, fna, _faa -> [meta, fna] }, ch_dnabert_s)
    EMBED_ESM(ch_shards.map { meta, _fna, faa -> [meta, faa] }, ch_esm_weights)

    ch_merge_input = EMBED_DNABERT.out.embeddings
        .map { meta, pt -> [meta.id, meta, pt] }
        .join(EMBED_ESM.out.embeddings.map { meta, pt -> [meta.id, pt] }, failOnDuplicate: true, failOnMismatch: true)
        .map { _key, meta, dnabert, esm -> [meta, dnabert, esm] }
    MERGE(ch_merge_input)

    // all shards of a sample, in shard order; groupKey releases a sample as soon as its last shard is merged
    ch_predict_input = MERGE.out.merged
        .map { meta, pt -> [groupKey(meta.sample, meta.n_shards), meta.shard_id, pt] }
        .groupTuple()
        .map { sample, shard_ids, pts ->
            def ordered = [shard_ids, pts].transpose().sort { pair -> pair[0] }.collect { pair -> pair[1] }
            [[id: sample.toString()], ordered]
        }
    PREDICT(ch_predict_input, ch_classifier, chunk_size)

    // samples whose input has no stop-free frame at all have no shard: they are reported from an empty table
    ch_without_shards = PREPARE.out.manifest
        .filter { _meta, manifest -> manifest.readLines().size() <= 1 }
        .combine(ch_no_predictions)
        .map { meta, _manifest, empty -> [meta, empty] }

    ch_report_input = PREDICT.out.predictions
        .mix(ch_without_shards)
        .map { meta, predictions -> [meta.id, predictions] }
        .join(PREPARE.out.chunks.map { meta, chunks -> [meta.id, meta, chunks] }, failOnDuplicate: true, failOnMismatch: true)
        .map { _id, predictions, meta, chunks -> [meta, predictions, chunks] }
    REPORT(ch_report_input, chunk_size)

    emit:
    predictions = PREDICT.out.predictions // channel: [ val(meta), path(prediction_results.tsv) ]
    consensus   = REPORT.out.consensus     // channel: [ val(meta), path(prediction_results_highestscore.tsv) ]
    summary     = REPORT.out.contig_summary // channel: [ val(meta), path(contig_summary.tsv) ]
    html        = REPORT.out.html          // channel: [ val(meta), path(report.html) ]
    multiqc     = REPORT.out.multiqc       // channel: [ val(meta), path(NAME_virnucpro_mqc.json) ]
}
