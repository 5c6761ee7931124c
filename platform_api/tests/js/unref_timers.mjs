// Preloaded (node --import) for Mem0's npm CLI, @mem0/cli 0.2.13: it races its ping against a 5 s timer it never
// clears, so each command, its answer printed, waits out the timer before it exits. Timers here no longer keep the
// process alive; what the CLI sends and prints is unchanged.
const setTimer = globalThis.setTimeout;
globalThis.setTimeout = (...args) => {
  const timer = setTimer(...args);
  timer.unref?.();
  return timer;
};
