// Where Chromium is and how we launch it: shared by tests, benchmarks and screenshots.
import { existsSync } from 'node:fs';

/** CHROME_PATH wins; otherwise Debian's /usr/bin/chromium. */
export function chromiumPath() {
  const p = process.env.CHROME_PATH ?? '/usr/bin/chromium';
  if (!existsSync(p)) {
    throw new Error(`Chromium not found at ${p}. Install it (Debian: apt-get install -y chromium) or set CHROME_PATH.`);
  }
  return p;
}

/** Flags that keep headless Chromium quiet and WebRTC on loopback deterministic. */
export function chromiumArgs() {
  return [
    ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
    '--disable-features=WebRtcHideLocalIpsWithMdns',
    ...(process.env.WTR_EXTRA_FLAGS ? process.env.WTR_EXTRA_FLAGS.split(' ') : []),
  ];
}
