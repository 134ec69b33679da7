import type { Redis } from 'ioredis';

/** Records the name of every command `client` sends from now on (scripts run inside Redis are not seen). */
export function recordCommands(client: Redis): string[] {
  const sent: string[] = [];
  const sendCommand = client.sendCommand.bind(client);
  client.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
    sent.push(command.name);
    return (sendCommand as (...args: unknown[]) => unknown)(command, ...rest);
  }) as typeof client.sendCommand;
  return sent;
}
