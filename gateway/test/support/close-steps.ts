import { connect, type Socket } from 'node:net';
import { ChannelType, MainServerMessage, MiniFrameDecoder, ServerLinkDecoder, decodeMainInit, type LinkReply } from '@deskplane/spice-protocol';
import { clientLinkMessage, ticketAnswer } from '@deskplane/testbed';
import { queryStatus, type Guest } from './guest';
import { HOST } from './qemu';

/** A SPICE client that stops at a chosen point of a connect, for the close-safety tests. */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export type Stop = 'connected' | 'midLink' | 'reply' | 'midTicket' | 'ticketSent' | 'result' | 'mainInit';

export interface Stepped {
  socket: Socket;
  sessionId?: number;
}

/**
 * A SPICE client driven step by step: links one channel and stops at `stop`, leaving the
 * socket open for the test to close (or to send more on). Rejects on any refusal.
 */
export function linkUntil(port: number, password: string, stop: Stop, channelType: number = ChannelType.MAIN, connectionId = 0): Promise<Stepped> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port });
    const link = new ServerLinkDecoder();
    const frames = new MiniFrameDecoder();
    let linked = false;
    let done = false;
    const timer = setTimeout(() => finish(new Error(`no progress to ${stop} (${link.currentState})`)), 8_000);
    const finish = (outcome: Stepped | Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.removeAllListeners('data');
      socket.on('data', () => undefined); // keep draining: a paused socket would back-pressure the guest
      if (outcome instanceof Error) {
        socket.destroy();
        reject(outcome);
      } else resolve(outcome);
    };
    const message = clientLinkMessage(channelType, connectionId);
    const onReply = (reply: LinkReply): void => {
      if (reply.error !== 0) return finish(new Error(`link reply error ${reply.error}`));
      if (stop === 'reply') return finish({ socket });
      const answer = Buffer.concat(ticketAnswer(reply, password));
      if (stop === 'midTicket') {
        socket.write(answer.subarray(0, answer.length - 60));
        return finish({ socket });
      }
      socket.write(answer);
      if (stop === 'ticketSent') finish({ socket });
    };
    const onFrames = (chunk: Buffer): void => {
      const init = frames.feed(chunk).find((f) => f.type === MainServerMessage.INIT);
      if (init !== undefined) finish({ socket, sessionId: decodeMainInit(init.payload).sessionId });
    };
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish(new Error(`closed by the gateway before ${stop} (${link.currentState})`)));
    socket.on('connect', () => {
      if (stop === 'connected') return finish({ socket });
      if (stop === 'midLink') {
        socket.write(message.subarray(0, 10));
        return finish({ socket });
      }
      socket.write(message);
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        if (linked) return onFrames(chunk);
        for (const msg of link.feed(chunk)) {
          if (msg.kind === 'linkReply') onReply(msg);
          else if (msg.result !== 0) return finish(new Error(`link result ${msg.result}`));
          else {
            linked = true;
            if (stop === 'result' || channelType !== ChannelType.MAIN) return finish({ socket });
            onFrames(link.takeRemainder());
          }
        }
      } catch (err) {
        finish(err as Error);
      }
    });
  });
}

/** query-status within `ms`, or 'no answer' (a frozen main loop answers nothing). */
export async function statusWithin(guest: Guest, ms: number): Promise<string> {
  return Promise.race([queryStatus(guest).catch((err: Error) => err.message), sleep(ms).then(() => 'no answer')]);
}
