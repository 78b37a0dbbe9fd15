import { useQueryClient } from '@tanstack/react-query';
import type { QueryKey } from '@tanstack/react-query';
import { useEffect, useRef, useSyncExternalStore } from 'react';

import { getMe, getMeQueryOptions } from '@/lib/auth';

/**
 * The app's one WebSocket (`/ws/chat/`), its reconnect with backoff, and the state the UI shows.
 *
 * Recovery is refetching (STYLE rule 8): frames missed while the socket was down are not
 * replayed; on every reopen the registered query keys are invalidated and the stored messages,
 * which are the truth, come back over REST.
 *
 * Close code 4401 means the session is gone (expired, logged out elsewhere, membership removed):
 * retrying cannot help, so `useSocket` forgets the signed-in user and the route guard sends the
 * browser to the login page.
 */
export type SocketState = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'closed';

/** The part of the browser's WebSocket this client uses; tests inject a tiny fake class. */
export interface SocketLike {
  readonly readyState: number;
  onopen: ((event: Event) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type SocketFactory = new (url: string) => SocketLike;

type Config = {
  WebSocket: SocketFactory | undefined;
  url: () => string;
  baseDelayMs: number;
  maxDelayMs: number;
  random: () => number;
};

const OPEN = 1;
/** The server's close code for a socket without a valid session (CONTRACT). */
export const CLOSE_NOT_AUTHENTICATED = 4401;
/** Close codes after which retrying cannot help: the session is gone or the origin refused. */
const FINAL_CLOSE_CODES = new Set([CLOSE_NOT_AUTHENTICATED, 4403]);
const MAX_QUEUED = 50;

function defaultUrl(): string {
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${window.location.host}/ws/chat/`;
}

function defaultConfig(): Config {
  return {
    WebSocket: typeof WebSocket === 'undefined' ? undefined : WebSocket,
    url: defaultUrl,
    baseDelayMs: 500,
    maxDelayMs: 15_000,
    random: Math.random,
  };
}

/** Exponential backoff with jitter, so a restarted server is not hit by every tab at once. */
export function backoffDelay(attempt: number, base: number, max: number, random: number): number {
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling * (0.5 + random * 0.5));
}

type FrameListener = (data: unknown) => void;
type OpenListener = (reopened: boolean) => void;
type CloseListener = (code: number) => void;

export class WsClient {
  private config: Config = defaultConfig();
  private socket: SocketLike | undefined;
  private state: SocketState = 'idle';
  private attempt = 0;
  private everOpened = false;
  private refs = 0;
  /** Bumped by reset(), so a release handed out before it cannot unbalance the count. */
  private generation = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private queue: string[] = [];
  private readonly frameListeners = new Set<FrameListener>();
  private readonly openListeners = new Set<OpenListener>();
  private readonly finalCloseListeners = new Set<CloseListener>();
  private readonly stateListeners = new Set<() => void>();

  configure(overrides: Partial<Config>): void {
    this.config = { ...this.config, ...overrides };
  }

  /** Forget everything (tests). */
  reset(): void {
    this.teardown();
    this.config = defaultConfig();
    this.refs = 0;
    this.generation += 1;
    this.everOpened = false;
    this.queue = [];
    this.frameListeners.clear();
    this.openListeners.clear();
    this.finalCloseListeners.clear();
    this.setState('idle');
  }

  getState = (): SocketState => this.state;

  subscribeState = (listener: () => void): (() => void) => {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  };

  onFrame(listener: FrameListener): () => void {
    this.frameListeners.add(listener);
    return () => this.frameListeners.delete(listener);
  }

  onOpen(listener: OpenListener): () => void {
    this.openListeners.add(listener);
    return () => this.openListeners.delete(listener);
  }

  /** Called when the server closes with a code after which no retry is made (4401, 4403). */
  onFinalClose(listener: CloseListener): () => void {
    this.finalCloseListeners.add(listener);
    return () => this.finalCloseListeners.delete(listener);
  }

  /** Hold the socket open while at least one screen needs it; returns the release function. */
  acquire(): () => void {
    this.refs += 1;
    clearTimeout(this.idleTimer);
    if (!this.socket && this.retryTimer === undefined) this.connect();
    let released = false;
    const generation = this.generation;
    return () => {
      if (released || generation !== this.generation) return;
      released = true;
      this.refs -= 1;
      if (this.refs > 0) return;
      // A short grace period: React StrictMode and route changes release and re-acquire at once.
      this.idleTimer = setTimeout(() => {
        if (this.refs === 0) {
          this.teardown();
          this.setState('idle');
        }
      }, 1000);
    };
  }

  /** Open a new socket now (the browser's session changed): the old one is closed. */
  restart(): void {
    this.teardown();
    if (this.refs > 0) this.connect();
    else this.setState('idle');
  }

  /** Send now when open; otherwise queue (bounded) until the next open. */
  send(frame: object): void {
    const data = JSON.stringify(frame);
    if (this.socket && this.socket.readyState === OPEN) {
      this.socket.send(data);
      return;
    }
    if (this.queue.length < MAX_QUEUED) this.queue.push(data);
  }

  /** Try again now (the browser came back online, or the user asked). */
  retryNow(): void {
    if (this.refs === 0 || this.state === 'live' || this.state === 'connecting') return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.connect();
  }

  private connect(): void {
    const Factory = this.config.WebSocket;
    if (!Factory) return;
    this.setState(this.everOpened || this.attempt > 0 ? 'reconnecting' : 'connecting');
    let socket: SocketLike;
    try {
      socket = new Factory(this.config.url());
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      const reopened = this.everOpened;
      this.everOpened = true;
      this.attempt = 0;
      this.setState('live');
      const queued = this.queue;
      this.queue = [];
      for (const data of queued) socket.send(data);
      for (const listener of this.openListeners) listener(reopened);
    };
    socket.onmessage = (event: MessageEvent) => {
      if (this.socket !== socket) return;
      for (const listener of this.frameListeners) listener(event.data);
    };
    socket.onerror = () => undefined; // onclose follows and decides.
    socket.onclose = (event: CloseEvent) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      if (FINAL_CLOSE_CODES.has(event.code)) {
        this.setState('closed');
        for (const listener of this.finalCloseListeners) listener(event.code);
        return;
      }
      if (this.refs > 0) this.scheduleRetry();
      else this.setState('idle');
    };
  }

  private scheduleRetry(): void {
    const { baseDelayMs, maxDelayMs, random } = this.config;
    const delay = backoffDelay(this.attempt, baseDelayMs, maxDelayMs, random());
    this.attempt += 1;
    this.setState('reconnecting');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.refs > 0) this.connect();
    }, delay);
  }

  private teardown(): void {
    clearTimeout(this.retryTimer);
    clearTimeout(this.idleTimer);
    this.retryTimer = undefined;
    this.attempt = 0;
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      socket.onopen = null;
      socket.close(1000, 'idle');
    }
  }

  private setState(state: SocketState): void {
    if (this.state === state) return;
    this.state = state;
    for (const listener of this.stateListeners) listener();
  }
}

/** The one socket of the app. */
export const wsClient = new WsClient();

export function useSocketState(): SocketState {
  return useSyncExternalStore(wsClient.subscribeState, wsClient.getState, wsClient.getState);
}

/**
 * Keep the socket open while the calling screen is mounted, deliver inbound frames to
 * `onFrame`, and on every reopen invalidate `invalidateOnReopen` (STYLE rule 8). On 4401 the
 * signed-in user is forgotten, so the route guard shows the login page.
 */
export function useSocket(onFrame: (data: unknown) => void, invalidateOnReopen: QueryKey[]): void {
  const queryClient = useQueryClient();
  const keysJson = JSON.stringify(invalidateOnReopen);
  // The latest handler, without re-acquiring the socket whenever the caller re-renders.
  const handler = useRef(onFrame);
  useEffect(() => {
    handler.current = onFrame;
  }, [onFrame]);
  useEffect(() => {
    const keys = JSON.parse(keysJson) as QueryKey[];
    const offOpen = wsClient.onOpen((reopened) => {
      if (!reopened) return;
      for (const queryKey of keys) void queryClient.invalidateQueries({ queryKey });
    });
    const offFrame = wsClient.onFrame((data) => handler.current(data));
    const offClose = wsClient.onFinalClose((code) => {
      if (code !== CLOSE_NOT_AUTHENTICATED) return;
      // The socket's session is gone. The browser may hold a newer one (a log out and back in
      // while the old socket was still open): ask who we are, and reconnect if someone.
      void getMe()
        .catch(() => null)
        .then((me) => {
          if (me) {
            wsClient.restart();
            return;
          }
          // As after a logout: nothing of the old session stays cached.
          queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== 'auth' });
          queryClient.setQueryData(getMeQueryOptions().queryKey, null);
        });
    });
    const release = wsClient.acquire();
    const online = (): void => wsClient.retryNow();
    window.addEventListener('online', online);
    return () => {
      window.removeEventListener('online', online);
      offFrame();
      offClose();
      offOpen();
      release();
    };
  }, [queryClient, keysJson]);
}
