/**
 * The `linear` model version a learner publishes on the model-control topic (default
 * `kappa-models`, key = model id), in the format the serving side reads (src/ml/serving/control.ts,
 * schemas/model-control.avsc): plain JSON with id, version, algorithm, format "linear", the
 * artifact inline as a `data:application/json;base64,...` URI holding the kappa-linear-model JSON,
 * the sha256 of those artifact bytes, and the input mapping (feature names in weight order).
 *
 * Versions are the number of labels learned when the weights were taken: the same version always
 * means the same weights (learning is deterministic in the input order), so a replay after a crash
 * republishes identical artifacts, never a different artifact under an old version.
 */
import { createHash } from 'crypto';
import type { LinearModel } from './types';

export interface LinearModelVersion {
  id: string;
  version: string;
  algorithm: string;
  format: 'linear';
  uri: string;
  sha256: string;
  input: { tensor: null; features: string[]; fields: Record<string, string> };
  output: { label: null; probabilities: null; value: null; field: string | null };
  exp_date: null;
  more_info: Record<string, string>;
  published_at: number;
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._\-]{0,199}$/;

/** A model id the control topic accepts: invalid characters become '-'. */
export function sanitizeModelId(id: string): string {
  if (ID_RE.test(id)) return id;
  let s = id.replace(/[^A-Za-z0-9._\-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  if (s === '') s = 'learner';
  return s.slice(0, 200);
}

export function linearArtifact(model: LinearModel): { bytes: Buffer; sha256: string; uri: string } {
  const bytes = Buffer.from(JSON.stringify(model), 'utf8');
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex'), uri: `data:application/json;base64,${bytes.toString('base64')}` };
}

export function buildModelVersionMessage(a: {
  id: string;
  learned: number;
  algorithm: string;
  model: LinearModel;
  /** feature names in weight order (the record fields they are read from) */
  features: string[];
  predictionField: string | null;
  moreInfo: Record<string, string>;
  now: number;
}): LinearModelVersion {
  const art = linearArtifact(a.model);
  return {
    id: sanitizeModelId(a.id),
    version: String(a.learned),
    algorithm: a.algorithm,
    format: 'linear',
    uri: art.uri,
    sha256: art.sha256,
    input: { tensor: null, features: [...a.features], fields: {} },
    output: { label: null, probabilities: null, value: null, field: a.predictionField },
    exp_date: null,
    more_info: a.moreInfo,
    published_at: a.now,
  };
}
