// A process that stops through core/stop.ts, for the tests of that helper.
// It stays alive (an interval) until its close runs; MTLS_TEST_CLOSE says how
// that close goes: "clean" ends the interval and resolves, "stuck" never
// resolves (the interval keeps the process alive), "failing" rejects.
import { jsonLog } from '../../core/log.ts';
import { stopOnSignals } from '../../core/stop.ts';

const log = jsonLog();
const alive = setInterval(() => undefined, 60_000);
const closes: Record<string, () => Promise<void>> = {
  clean: async () => clearInterval(alive),
  stuck: () => new Promise<void>(() => undefined),
  failing: async () => {
    throw new Error('database is locked\nat a stack line');
  },
};
const close = closes[process.env.MTLS_TEST_CLOSE ?? ''];
if (close === undefined) throw new Error(`MTLS_TEST_CLOSE must be one of ${Object.keys(closes).join(', ')}`);
stopOnSignals({ signals: ['SIGTERM', 'SIGINT'], graceMs: Number(process.env.MTLS_TEST_GRACE_MS ?? '0'), log, close });
log.info('ready');
log.flush();
