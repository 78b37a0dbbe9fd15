import { act } from '@testing-library/react';
import { afterEach, beforeEach } from 'vitest';

import { resetChatStore } from '@/features/chat/stores/chat-store';
import { useDeltaStore } from '@/features/chat/stores/delta-store';
import { wsClient } from '@/lib/ws-client';
import type { SocketLike } from '@/lib/ws-client';

/** A test double of the browser's WebSocket: records what the app sends, lets a test push frames. */
export class FakeSocket implements SocketLike {
  static instances: FakeSocket[] = [];
  readyState = 0;
  onopen: ((event: Event) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  sent: Array<Record<string, unknown>> = [];

  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }

  static latest(): FakeSocket {
    const socket = FakeSocket.instances.at(-1);
    if (!socket) throw new Error('no socket was opened');
    return socket;
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }

  close(): void {
    this.readyState = 3;
  }

  open(): void {
    act(() => {
      this.readyState = 1;
      this.onopen?.(new Event('open'));
    });
  }

  push(frame: object): void {
    act(() => {
      this.onmessage?.(new MessageEvent('message', { data: JSON.stringify(frame) }));
    });
  }

  /** The connection breaks (the server went away): the app should reconnect. */
  drop(code = 1006): void {
    act(() => {
      this.readyState = 3;
      this.onclose?.(new CloseEvent('close', { code }));
    });
  }
}

/**
 * For a test file whose app talks over the chat socket: every test gets FakeSockets (fast
 * reconnects) and starts from empty chat and delta stores.
 */
export function withFakeChatSocket(): void {
  beforeEach(() => {
    FakeSocket.instances = [];
    wsClient.configure({ WebSocket: FakeSocket, baseDelayMs: 5, maxDelayMs: 20 });
  });
  afterEach(() => {
    wsClient.reset();
    resetChatStore();
    useDeltaStore.getState().clearAll();
  });
}
