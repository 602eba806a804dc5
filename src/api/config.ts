/**
 * Config definitions as metadata, shaped like Connect's ConfigDef so that they render into the
 * validate endpoint's ConfigInfos without translation.
 */

export type ConfigType = 'BOOLEAN' | 'STRING' | 'INT' | 'SHORT' | 'LONG' | 'DOUBLE' | 'LIST' | 'CLASS' | 'PASSWORD';
export type Importance = 'HIGH' | 'MEDIUM' | 'LOW';
export type Width = 'NONE' | 'SHORT' | 'MEDIUM' | 'LONG';

/** Returns an error message for a bad value, or undefined when the value is fine. */
export type ConfigValidator = (value: unknown, name: string) => string | undefined;

export interface ConfigKey {
  readonly name: string;
  readonly type: ConfigType;
  /** absent → required (Connect's NO_DEFAULT_VALUE); null is a real default */
  readonly default?: unknown;
  readonly importance: Importance;
  readonly documentation: string;
  readonly group?: string;
  readonly orderInGroup?: number;
  readonly width?: Width;
  readonly displayName?: string;
  readonly validator?: ConfigValidator;
  readonly recommendedValues?: readonly string[];
  readonly dependents?: readonly string[];
}

export type ConfigDef = readonly ConfigKey[];

/** A config map as users write it: all values strings. */
export type ConfigMap = Readonly<Record<string, string>>;
