import { createHash } from 'node:crypto';

/** Where the Stately inspector UI lives; the bridge page embeds it. */
export const STATELY_INSPECTOR_URL = 'https://stately.ai/inspect';

/** How long the page waits for the embedded UI to say it is connected before saying it is not coming. */
export const INSPECTOR_CONNECT_TIMEOUT_MS = 15_000;

export interface BridgePage {
  html: string;
  /** The page's Content-Security-Policy: its own script and style by hash, the inspector UI's origin only. */
  csp: string;
}

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
}

const STYLE = `
    * { margin: 0; padding: 0; box-sizing: border-box; }
    html, body { height: 100%; font: 14px/1.5 system-ui, sans-serif; }
    iframe { width: 100%; height: 100%; border: none; }
    #status { padding: 1.5rem 2rem; background: #fff4e5; color: #5a3800; border-bottom: 1px solid #f0c36d; }
    #status h1 { font-size: 1.1rem; margin-bottom: .5rem; }
    #status p { margin: .25rem 0; }
    #status code { background: #fbe3bd; padding: 0 .25rem; border-radius: 3px; }
`;

/**
 * The page a browser opens to watch the daemon: it embeds the Stately inspector UI and forwards every
 * inspection event from this server's WebSocket into it with `postMessage` (the UI's browser protocol),
 * addressed to the UI's origin only. Events that arrive before the UI says `@statelyai.connected` are held
 * and replayed. The WebSocket URL comes from the page's own address, so it works behind a port mapping or
 * an SSH tunnel.
 *
 * The UI is hosted online: when the browser cannot reach it (no internet access, a proxy), the page says
 * so in plain words instead of leaving a broken frame, and keeps counting the events it receives.
 */
export function bridgePage(inspectorUrl: string = STATELY_INSPECTOR_URL): BridgePage {
  const origin = new URL(inspectorUrl).origin;
  const script = `
    const INSPECTOR_URL = ${JSON.stringify(inspectorUrl)};
    const INSPECTOR_ORIGIN = ${JSON.stringify(origin)};
    const iframe = document.getElementById('inspector');
    const status = document.getElementById('status');
    const held = [];
    let connected = false;
    let received = 0;
    let problem = '';
    function show(reason) {
      if (connected) return;
      problem = reason;
      status.hidden = false;
      status.querySelector('[data-reason]').textContent = reason;
      status.querySelector('[data-count]').textContent = String(received);
    }
    window.addEventListener('message', (e) => {
      if (e.origin !== INSPECTOR_ORIGIN || e.source !== iframe.contentWindow) return;
      if (e.data && e.data.type === '@statelyai.connected') {
        connected = true;
        status.hidden = true;
        for (const event of held) iframe.contentWindow.postMessage(event, INSPECTOR_ORIGIN);
        held.length = 0;
      }
    });
    fetch(INSPECTOR_URL, { mode: 'no-cors', cache: 'no-store' }).catch(() => {
      show('the browser could not load it (no internet access from this machine, or a proxy or firewall in the way).');
      iframe.hidden = !connected;
    });
    setTimeout(() => show('it did not answer within ${INSPECTOR_CONNECT_TIMEOUT_MS / 1000} seconds.'), ${INSPECTOR_CONNECT_TIMEOUT_MS});
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host);
    ws.onmessage = (message) => {
      const event = JSON.parse(message.data);
      received += 1;
      if (problem) status.querySelector('[data-count]').textContent = String(received);
      if (connected) iframe.contentWindow.postMessage(event, INSPECTOR_ORIGIN);
      else held.push(event);
    };
    ws.onclose = () => {
      if (!connected) status.querySelector('[data-socket]').textContent = 'closed';
    };
`;
  const html = `<!DOCTYPE html>
<html>
<head>
  <meta charset="utf-8">
  <title>Chimera - Stately inspector</title>
  <style>${STYLE}</style>
</head>
<body>
  <div id="status" role="alert" hidden>
    <h1>The Stately inspector UI cannot be reached</h1>
    <p>This page embeds the hosted inspector UI at <code>${inspectorUrl.replace(/[<>&"]/g, '')}</code>, and <span data-reason></span></p>
    <p>The daemon is running and streaming inspection events to this page (<span data-count>0</span> received, connection <span data-socket>open</span>); any client of the Stately inspection protocol can read them from this address's WebSocket.</p>
    <p>For a view that works offline, run the daemon with <code>--ui</code> and open the dashboard it prints.</p>
  </div>
  <iframe id="inspector" title="Stately inspector" src=${JSON.stringify(inspectorUrl)}></iframe>
  <script>${script}</script>
</body>
</html>
`;
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(script)}`,
    `style-src ${sha256(STYLE)}`,
    `frame-src ${origin}`,
    `connect-src 'self' ${origin}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}
