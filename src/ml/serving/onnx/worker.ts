/**
 * Inference worker thread: holds InferenceSessions keyed by (model id, version) and answers the
 * pool's load / run / unload / close requests. Result buffers are transferred, not copied.
 */
import { parentPort, workerData } from 'worker_threads';
import type { WorkerInit, WorkerReply, WorkerRequest } from './protocol';
import { LoadedModel } from './session';
import { Prediction, ServingError, isPlainArrayBuffer, keyString, serializeError, slotKey } from './types';

interface Slot {
  readonly model: LoadedModel;
  /** Runs in progress on this session; it is released only after they settle. */
  readonly active: Set<Promise<unknown>>;
}

const init = (workerData ?? {}) as WorkerInit;
const slots = new Map<string, Slot>();
let closing: Promise<void> | undefined;

async function retire(slot: Slot | undefined): Promise<void> {
  if (!slot) return;
  await Promise.allSettled([...slot.active]);
  await slot.model.release().catch(() => undefined);
}

function transferables(p: Prediction): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const a of [p.probabilities, p.values]) {
    // onnxruntime hands out fresh, JS-owned buffers; transfer them whole when the view spans them.
    if (a && isPlainArrayBuffer(a.buffer) && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && !out.includes(a.buffer)) {
      out.push(a.buffer);
    }
  }
  return out;
}

async function handle(req: WorkerRequest): Promise<{ reply: WorkerReply; transfer: ArrayBuffer[] }> {
  switch (req.op) {
    case 'load': {
      const model = await LoadedModel.load(req.key, req.bytes, req.options, init.tuning);
      const k = slotKey(req.key);
      const previous = slots.get(k);
      slots.set(k, { model, active: new Set() });
      void retire(previous);
      return { reply: { id: req.id, ok: true, result: model.info }, transfer: [] };
    }
    case 'run': {
      const slot = slots.get(slotKey(req.key));
      if (!slot) throw new ServingError('MODEL_NOT_LOADED', `model ${keyString(req.key)} is not loaded`);
      const p = slot.model.run(req.rows, req.nRows, req.nFeatures);
      slot.active.add(p);
      try {
        const prediction = await p;
        return { reply: { id: req.id, ok: true, result: prediction }, transfer: transferables(prediction) };
      } finally {
        slot.active.delete(p);
      }
    }
    case 'unload': {
      const k = slotKey(req.key);
      const slot = slots.get(k);
      slots.delete(k);
      await retire(slot);
      return { reply: { id: req.id, ok: true, result: null }, transfer: [] };
    }
    case 'close': {
      closing ??= (async () => {
        const all = [...slots.values()];
        slots.clear();
        await Promise.all(all.map(retire));
      })();
      await closing;
      return { reply: { id: req.id, ok: true, result: null }, transfer: [] };
    }
  }
}

const port = parentPort;
if (port) {
  port.on('message', (req: WorkerRequest) => {
    handle(req).then(
      ({ reply, transfer }) => {
        try {
          port.postMessage(reply, transfer);
        } catch {
          port.postMessage(reply); // a buffer that cannot be transferred is copied instead
        }
        if (req.op === 'close') port.close();
      },
      (e: unknown) => port.postMessage({ id: req.id, ok: false, error: serializeError(e) } satisfies WorkerReply),
    );
  });
}
