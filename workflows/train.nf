/*
 * VirNucPro training: PREPARE with annotations (training frames) -> (DNABERT-S || ESM-2 per shard) -> MERGE per shard
 * -> TRAIN on every training sample's shards -> EVALUATE the new classifier on the held-out samples, if any.
 * Only TRAIN reads the recipe (ext.args), so -resume reuses every featurised shard when only the recipe changes.
 */

include { FEATURISE } from '../subworkflows/local/featurise/main'
include { TRAIN     } from '../modules/local/train/main'
include { EVALUATE  } from '../modules/local/evaluate/main'

workflow VIRNUCPRO_TRAIN {

    take:
    samplesheet    // list: [ val(meta: id, label, group), path(fasta), path(gbff) ] per sample (samplesheetToList)
    holdout        // list: names of the samples to evaluate on instead of training on
    ch_dnabert_s   // channel: path(dnabert_s_dir)   (a value channel)
    ch_esm_weights // channel: path(esm2_checkpoint) (a value channel)
    chunk_size     // integer: chunk length in bp
    shard_size     // integer: kept frames per shard

    main:
    def names = samplesheet.collect { row -> row[0].id.toString() }
    def unknown = holdout.findAll { name -> !(name in names) }
    if (unknown) {
        error("--holdout_samples: ${unknown.join(', ')} not in the samplesheet (its samples: ${names.join(', ')})")
    }
    def trained = samplesheet.findAll { row -> !(row[0].id.toString() in holdout) }.collect { row -> row[0].label }
    if (!('viral' in trained && 'host' in trained)) {
        error("--mode train: the samples trained on (all but --holdout_samples) need at least one viral and one host row")
    }

    ch_samples = channel.fromList(samplesheet)
        .map { meta, fasta, gbff -> [meta + [id: meta.id.toString(), group: meta.group ?: meta.label], fasta, gbff] }
    FEATURISE(ch_samples, ch_dnabert_s, ch_esm_weights, chunk_size, shard_size)

    // every merged shard of a part, sorted by file name (a stable order keeps -resume's cache), with its label row
    ch_merged = FEATURISE.out.merged
        .map { meta, pt -> [pt.name, pt, [pt.name, meta.label, meta.group], meta.sample in holdout] }
    ch_training = ch_merged
        .filter { _name, _pt, _row, held -> !held }
        .toSortedList { a, b -> a[0] <=> b[0] }
        .map { items -> [[id: 'classifier'], items.collect { item -> item[1] }, items.collect { item -> item[2] }] }
    TRAIN(ch_training, chunk_size)

    ch_holdout = ch_merged
        .filter { _name, _pt, _row, held -> held }
        .toSortedList { a, b -> a[0] <=> b[0] }
        .filter { items -> items.size() > 0 }
        .map { items -> [[id: 'holdout'], items.collect { item -> item[1] }, items.collect { item -> item[2] }] }
    EVALUATE(ch_holdout, TRAIN.out.classifier.map { _meta, classifier -> classifier }, chunk_size)

    emit:
    classifier = TRAIN.out.classifier  // channel: [ val(meta), path(classifier.safetensors) ]
    metrics    = TRAIN.out.metrics     // channel: [ val(meta), path(metrics.tsv) ]
    report     = TRAIN.out.report      // channel: [ val(meta), path(training_report.html) ]
    evaluation = EVALUATE.out.summary  // channel: [ val(meta), path(evaluation.json) ]
}
