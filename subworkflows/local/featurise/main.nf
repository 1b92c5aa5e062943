/*
 * Shards of kept frames, embedded by both models and merged per shard:
 * PREPARE -> (EMBED_DNABERT || EMBED_ESM per shard) -> MERGE per shard.
 * Shared by prediction (workflows/virnucpro.nf) and training (workflows/train.nf), so both fan out alike.
 */

include { PREPARE       } from '../../../modules/local/prepare/main'
include { EMBED_DNABERT } from '../../../modules/local/embed_dnabert/main'
include { EMBED_ESM     } from '../../../modules/local/embed_esm/main'
include { MERGE         } from '../../../modules/local/merge/main'

workflow FEATURISE {

    take:
    ch_samples     // channel: [ val(meta), path(fasta), path(annotations) ]  (annotations: [] in prediction mode)
    ch_dnabert_s   // channel: path(dnabert_s_dir)   (a value channel)
    ch_esm_weights // channel: path(esm2_checkpoint) (a value channel)
    chunk_size     // integer: chunk length in bp
    shard_size     // integer: kept frames per shard

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

    emit:
    merged   = MERGE.out.merged     // channel: [ val(shard meta: id, sample, shard_id, n_shards, ...), path(merged.pt) ]
    manifest = PREPARE.out.manifest // channel: [ val(meta), path(manifest.tsv) ]
    chunks   = PREPARE.out.chunks   // channel: [ val(meta), path(chunks.tsv) ]
    summary  = PREPARE.out.summary  // channel: [ val(meta), path(prepare.json) ]
}
