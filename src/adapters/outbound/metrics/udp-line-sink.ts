import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';

/**
 * Sends each line as one datagram to a CloudWatch agent's EMF listener (`udp://127.0.0.1:25888`). UDP: nothing
 * waits for the agent, and a lost datagram is a lost metric, never a failed rotation. The socket is unref'd so
 * that it never keeps the process alive.
 */
export class UdpLineSink {
  readonly #socket: Socket;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {
    this.#socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    this.#socket.on('error', () => {});
    this.#socket.unref();
  }

  write(line: string): void {
    this.#socket.send(line, this.port, this.host, () => {});
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}
