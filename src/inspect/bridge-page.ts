/** Where the Stately inspector UI lives; the bridge page embeds it. */
export const STATELY_INSPECTOR_URL = 'https://stately.ai/inspect';

/**
 * The page a browser opens to watch the daemon: it embeds the Stately inspector UI and forwards every
 * inspection event from this server's WebSocket into it with `postMessage` (the UI's browser protocol).
 * Events that arrive before the UI says `@statelyai.connected` are held and replayed. The WebSocket URL
 * comes from the page's own address, so it works behind a port mapping or an SSH tunnel.
 */
export function bridgePage(inspectorUrl: string = STATELY_INSPECTOR_URL): string {
  return `<!DOCTYPE html>
<html>
<head>
  <meta charset="utf-8">
  <title>Chimera - Stately inspector</title>
  <style>
    * { margin: 0; padding: 0; }
    html, body { height: 100%; }
    iframe { width: 100%; height: 100%; border: none; }
  </style>
</head>
<body>
  <iframe id="inspector" src=${JSON.stringify(inspectorUrl)}></iframe>
  <script>
    const iframe = document.getElementById('inspector');
    const held = [];
    let connected = false;
    window.addEventListener('message', (e) => {
      if (e.data && e.data.type === '@statelyai.connected') {
        connected = true;
        for (const event of held) iframe.contentWindow.postMessage(event, '*');
        held.length = 0;
      }
    });
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host);
    ws.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (connected) iframe.contentWindow.postMessage(event, '*');
      else held.push(event);
    };
  </script>
</body>
</html>
`;
}
