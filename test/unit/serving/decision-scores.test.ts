/**
 * Classifiers without probabilities (LinearSVC exported by skl2onnx): their score tensor is named
 * `probabilities` but holds decision_function values. The worker must recognise them from the
 * graph and never present them as probabilities; a binary model's single score belongs to the
 * positive class.
 */
import { scoreKindOf, summarize } from '../../../src/ml/serving/onnx/graph';
import { scoreColumnLabels } from '../../../src/ml/serving/score';
import { FIXTURES, meta, modelBytes } from './fixtures';

describe('what a classifier\'s score tensor holds', () => {
  it.each(FIXTURES.filter((n) => meta(n).task === 'classification'))('%s', (name) => {
    const summary = summarize(modelBytes(name));
    const scoreOutput = meta(name).outputs[1]!.name; // skl2onnx: [label, scores]
    const kind = scoreKindOf(summary, scoreOutput);
    // the fixture generator recorded probabilities only where scikit-learn has predict_proba
    expect(kind).toBe(meta(name).expected.probabilities ? 'probabilities' : 'decision_scores');
  });

  it('LinearSVC fixtures are the ones without probabilities, binary and multiclass', () => {
    expect(scoreKindOf(summarize(modelBytes('banknote-linearsvc')), 'probabilities')).toBe('decision_scores');
    expect(scoreKindOf(summarize(modelBytes('iris-linearsvc')), 'probabilities')).toBe('decision_scores');
  });
});

describe('the class each score column belongs to', () => {
  it('one column for two classes is the positive class (classes_[1]), as scikit-learn\'s decision_function', () => {
    expect(scoreColumnLabels([0, 1], 1)).toEqual(['1']);
    expect(scoreColumnLabels(['ham', 'spam'], 1)).toEqual(['spam']);
  });

  it('otherwise the columns follow the class labels (indices when there are none)', () => {
    expect(scoreColumnLabels([1, 2, 3], 3)).toEqual(['1', '2', '3']);
    expect(scoreColumnLabels([0, 1], 2)).toEqual(['0', '1']);
    expect(scoreColumnLabels([], 2)).toEqual(['0', '1']);
  });
});
