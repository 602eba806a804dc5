/** The `/connector-plugins` resource: listing, config definitions and validation. */
import { renderConfigInfos, renderKey, sinkConfigDef } from '../config/connector-config';
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
    return renderConfigInfos(herder.validate(config));
  });
}
