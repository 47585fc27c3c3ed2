// Answering a request whose body has not been read to its end (an import refused at a row too
// long): the server says Connection: close, discards what the client still sends without keeping
// it, and closes its side once the answer is out. It does not close the socket at once: a socket
// closed with the client's data unread makes the kernel reset the connection, and a client still
// uploading (fetch, curl) then loses the answer and reports EPIPE or ECONNRESET instead. The
// connection ends when the client closes its side, or LINGER_MS after the answer.
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';

const LINGER_MS = 5000;

export function closeAfterAnswer(request: FastifyRequest, reply: FastifyReply): void {
  reply.header('connection', 'close');
  request.raw.resume();
  const socket = request.raw.socket as Socket & { destroySoon?: () => void };
  // Node's HTTP server calls socket.destroySoon() after an answer that says Connection: close,
  // which closes the socket as soon as the answer is written; this closes half of it instead.
  socket.destroySoon = () => {
    socket.end();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
    socket.once('close', () => clearTimeout(timer));
  };
}
