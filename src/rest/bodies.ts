/**
 * Shapes of the request bodies the REST API accepts, checked with ajv (compiled once). A body of
 * the wrong shape gets a 400 naming the offending part; the values themselves are validated by
 * the herder against the plugins' config definitions.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import { RestError } from './server-errors';

const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });

/** Connect's config maps are Map<String,String>; UIs also send numbers and booleans, and null (PATCH deletes). */
const configMap = { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean', 'null'] } } as const;

const createConnector = {
  type: 'object',
  required: ['config'],
  properties: {
    name: { type: ['string', 'number', 'null'] },
    config: configMap,
    initial_state: { type: ['string', 'null'] },
  },
} as const;

function checker(schema: object, what: string): (body: unknown) => void {
  const validate: ValidateFunction = ajv.compile(schema);
  return (body) => {
    if (!validate(body)) throw new RestError(400, `Invalid ${what}: ${ajv.errorsText(validate.errors, { dataVar: 'body' })}`);
  };
}

/** POST /connectors: `{"name":..., "config":{...}, "initial_state":...}` */
export const checkCreateConnectorRequest = checker(createConnector, 'create connector request');
/** PUT/PATCH config and validate: a flat map of configuration keys to scalar values */
export const checkConfigMap = checker(configMap, 'connector configuration');
