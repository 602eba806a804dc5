// The REST API from the browser: same origin, so the browser sends the credentials it holds for
// the API (basic auth) with every request; nothing else is ever contacted.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function getJson(path) {
  const res = await fetch(path, { headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' });
  let body = null;
  try {
    body = await res.json();
  } catch {
    // an empty or non-JSON body: the status says enough
  }
  if (!res.ok) throw new ApiError(res.status, body && typeof body.message === 'string' ? body.message : `HTTP ${res.status}`);
  return body;
}

export const enc = encodeURIComponent;
