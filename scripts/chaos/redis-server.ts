import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection } from 'node:net';

/**
 * A redis-server of its own on a loopback port, without persistence (a restart wipes it, as losing
 * a cache node does): BullMQ's timers vanish with it, and the deadline sweep must catch up.
 */
export interface RedisServer {
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.write('PING\r\n');
      socket.once('data', (d) => (socket.destroy(), resolve(String(d).startsWith('+PONG'))));
    });
    socket.once('error', () => resolve(false));
  });
}

export async function createRedisServer(port: number): Promise<RedisServer> {
  let child: ChildProcess | null = null;
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
        {
          stdio: 'ignore',
        },
      );
      for (let i = 0; i < 200 && !(await answers(port)); i++) await new Promise((r) => setTimeout(r, 25));
    },
    async stop() {
      const running = child;
      child = null;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((r) => running.once('exit', r));
      running.kill('SIGKILL');
      await exited;
    },
    async restart() {
      await server.stop();
      await server.start();
    },
  };
  await server.start();
  return server;
}
