import { LinearOnlineLearner } from './learner';
import { LearnerConfig, LearnerState, OnlineLearner } from './types';

/** Build a learner from a plain config object (see LearnerConfig for fields and defaults). */
export function createLearner(config: LearnerConfig): OnlineLearner {
  return new LinearOnlineLearner(config);
}

/** Rebuild a learner from toState() output (also after a JSON round trip). */
export function fromState(state: LearnerState): OnlineLearner {
  return LinearOnlineLearner.fromState(state);
}

/**
 * scikit-learn parity preset: PassiveAggressiveClassifier(C, loss='hinge' -> 'pa-i',
 * 'squared_hinge' -> 'pa-ii', fit_intercept=True) driven by partial_fit one sample at a time:
 * intercept outside the norm, one-vs-rest for multiclass, classes[1] positive for binary.
 */
export function sklearnPassiveAggressiveConfig(opts: {
  algorithm: 'pa-i' | 'pa-ii';
  classes: LearnerConfig['classes'];
  nFeatures: number;
  C?: number;
  standardize?: LearnerConfig['standardize'];
}): LearnerConfig {
  const classes = opts.classes ?? [];
  return {
    algorithm: opts.algorithm,
    task: classes.length === 2 ? 'binary' : 'multiclass',
    classes,
    nFeatures: opts.nFeatures,
    C: opts.C ?? 1,
    bias: 'intercept',
    multiclass: 'ovr',
    standardize: opts.standardize ?? false,
  };
}
