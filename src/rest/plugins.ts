/** The `/connector-plugins` resource: listing, config definitions and validation. */
import { renderConfigInfos, renderKey, sinkConfigDef, withWorkerConverterDefaults } from '../config/connector-config';
import { InvalidVersionSpecError, parseVersionRequirement } from '../plugins/version-range';
import { RestError, coerceConfig, queryBool, type Req, type RouteTable, type ServerDeps } from './server';


export function pluginRoutes(routes: RouteTable, deps: ServerDeps): void {
  const { registry, herder } = deps;

  routes.add('GET', '/connector-plugins', async (req: Req) => {
    const connectorsOnly = req.query['connectorsOnly'] === undefined ? true : queryBool(req.query['connectorsOnly']);
    return registry.all()
      .filter((e) => !connectorsOnly || e.descriptor.type === 'sink' || (e.descriptor.type as string) === 'source')
      .map((e) => (e.descriptor.version && e.descriptor.version !== 'undefined'
        ? { class: e.descriptor.className, type: e.descriptor.type, version: e.descriptor.version }
        : { class: e.descriptor.className, type: e.descriptor.type }));
  });

  routes.add('GET', '/connector-plugins/:plugin/config', async (req: Req) => {
    const name = req.params['plugin']!;
    const entry = registry.findAny(name);
    if (!entry) throw new RestError(404, `Unknown plugin ${name}.`);
    // Connect 4.1 (KIP-891): ?version= picks one installed version; each plugin here has exactly one.
    const raw = req.query['version'];
    let range;
    try {
      range = parseVersionRequirement(Array.isArray(raw) ? String(raw[raw.length - 1]) : raw === undefined ? undefined : String(raw));
    } catch (e) {
      if (e instanceof InvalidVersionSpecError) throw new RestError(400, `Invalid version specification ${String(raw)}: ${e.message}`);
      throw e;
    }
    if (range && !range.contains(entry.descriptor.version)) {
      throw new RestError(400, `Plugin ${name} not found that matches the version range ${range.text}, available versions: [${entry.descriptor.version}]`);
    }
    const own = entry.descriptor.configDef.map(renderKey);
    if (entry.descriptor.type !== 'sink') return own;
    const names = new Set(own.map((k) => k.name));
    return [...own, ...sinkConfigDef().filter((k) => !names.has(k.name)).map(renderKey)];
  });

  routes.add('PUT', '/connector-plugins/:plugin/config/validate', async (req: Req) => {
    await deps.ready;
    const plugin = req.params['plugin']!;
    const config = coerceConfig(req.body);
    const cls = config['connector.class'];
    if (cls === undefined || cls === null) {
      throw new RestError(400, `Connector config {${Object.entries(config).map(([k, v]) => `${k}=${v}`).join(', ')}} contains no connector type`);
    }
    const normalize = (s: string) => (s.endsWith('Connector') && s !== 'Connector' ? s.slice(0, -'Connector'.length) : s);
    if (!normalize(cls).endsWith(normalize(plugin))) {
      throw new RestError(400, `Included connector type ${cls} does not match request type ${plugin}`);
    }
    const defaults = { 'key.converter': deps.config.keyConverter, 'value.converter': deps.config.valueConverter, 'header.converter': deps.config.headerConverter };
    return renderConfigInfos(withWorkerConverterDefaults(herder.validate(config), defaults, config));
  });
}
