// Runs a `neurino` command in-process, as the CLI parses it, for tests: commander's errors throw instead of
// exiting the test process, on every level of subcommands, and what the command printed is kept.
import { Command } from 'commander';
import { vi } from 'vitest';

export async function runCommand(command: Command, args: readonly string[]): Promise<string> {
  return (await runCommandPrinting(command, args)).stdout;
}

/** As runCommand, keeping what the command printed on stderr too. */
export async function runCommandPrinting(
  command: Command,
  args: readonly string[],
): Promise<{ stdout: string; stderr: string }> {
  const printed: string[] = [];
  const errors: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((line: unknown) => printed.push(String(line)));
  const error = vi.spyOn(console, 'error').mockImplementation((line: unknown) => errors.push(String(line)));
  try {
    // Positional options, as main.ts parses them.
    const program = new Command('neurino').enablePositionalOptions().addCommand(command);
    const quiet = (c: Command): void => {
      c.exitOverride().configureOutput({ writeErr: () => {} });
      for (const sub of c.commands) quiet(sub);
    };
    quiet(program);
    await program.parseAsync([command.name(), ...args], { from: 'user' });
    return { stdout: printed.join('\n'), stderr: errors.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}
