import type { Logger } from 'pino';
import type { WorkerAnswer, WorkerRequest } from './process-group-messages.js';
import type { RunningWorker } from './worker.js';
import { LaneNotFoundError } from './worker-control.js';

/**
 * How a worker process of `run --processes N` answers its primary's admin requests: from its own
 * WorkerControl, exactly as its own admin API would; a move of a lane's offsets holds and releases the lane. Reloads go through the worker's reload
 * trigger, so each process counts and logs its own. Never throws: a failure becomes an answer.
 */
export async function answerRequest(worker: Pick<RunningWorker, 'control' | 'reload' | 'holdLane' | 'releaseLane'>, request: WorkerRequest, logger: Logger): Promise<WorkerAnswer> {
  try {
    switch (request.kind) {
      case 'lanes':
        return { kind: 'lanes', lanes: (await worker.control.lanes()).lanes };
      case 'pause':
        return { kind: 'lane', lane: (await worker.control.pause(request.tenant, request.destination, request.by)).lane };
      case 'resume':
        return { kind: 'lane', lane: (await worker.control.resume(request.tenant, request.destination, request.by)).lane };
      case 'reload':
        return { kind: 'reloaded', result: await worker.reload(request.reason) };
      case 'hold':
        await worker.holdLane(request.tenant, request.destination, request.maxHoldMs);
        return { kind: 'held' };
      case 'release':
        return { kind: 'lane', lane: worker.releaseLane(request.tenant, request.destination) };
    }
  } catch (error) {
    if (error instanceof LaneNotFoundError) return { kind: 'lane_not_found', message: error.message };
    logger.error({ err: error, request: request.kind }, 'Answering the primary\'s admin request failed.');
    return { kind: 'failed', message: error instanceof Error ? error.message : String(error) };
  }
}
