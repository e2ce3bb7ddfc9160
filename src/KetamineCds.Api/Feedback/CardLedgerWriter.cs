using System.Threading.Channels;
using KetamineCds.Storage;

namespace KetamineCds.Api.Feedback;

/// <summary>
/// Writes issued cards to the ledger off the hook's path: bounded, batched, asynchronous.
/// <para>Why not in the hook call: a durable write costs an fsync (SQLite, synchronous=FULL) or a round trip and
/// commit (PostgreSQL), and a slow or unavailable database must neither delay nor fail the cards a clinician is
/// waiting for. The ledger is what feedback joins to; a card the ledger never got makes its feedback an "unknown card",
/// which is still stored (joined when the row arrives) and only means the override cannot snooze that finding:
/// the alert shows again, the safe direction.</para>
/// <para>Bounded: at most <see cref="FeedbackStoreOptions.LedgerQueueCapacity"/> cards wait; beyond that they are
/// dropped and counted in the log rather than growing memory without limit. On shutdown the queue is drained.
/// <see cref="FlushAsync"/> lets the feedback handler wait for cards still queued before calling a card unknown.</para>
/// <para>Batched in time too: after the first card of a batch arrives the writer waits up to
/// <see cref="FeedbackStoreOptions.LedgerBatchWindowMs"/> (default 50 ms) for more, so under load one commit (one sync,
/// one WAL write) carries many calls' cards rather than one each (issue 8 item 1: the ledger's fsync, pwrite and page
/// cache were ~4% of the service's CPU). A flush request ends the wait at once; a card waits at most the window longer
/// in memory, which changes nothing of what a crash can lose in kind (the queue is in memory already).</para>
/// </summary>
public sealed class CardLedgerWriter(ICardLedger ledger, Microsoft.Extensions.Options.IOptions<FeedbackStoreOptions> options, ILogger<CardLedgerWriter> logger)
    : BackgroundService
{
    private const int BatchSize = 256;

    private readonly Channel<Entry> queue = Channel.CreateUnbounded<Entry>(new UnboundedChannelOptions { SingleReader = true });
    private readonly int capacity = options.Value.LedgerQueueCapacity;
    private readonly int windowMs = options.Value.LedgerBatchWindowMs;

    // Released by FlushAsync: ends the batch window early (the count may exceed one; extra releases only end a later window early).
    private readonly SemaphoreSlim flushRequested = new(0);
    private int pending;

    /// <summary>Cards dropped because the queue was full or the database kept failing (for operators and tests).</summary>
    public long Dropped => Interlocked.Read(ref dropped);

    private long dropped;

    /// <summary>Queues cards for the ledger; never blocks and never throws.</summary>
    public void Enqueue(IReadOnlyList<IssuedCard> cards)
    {
        ArgumentNullException.ThrowIfNull(cards);
        if (cards.Count == 0)
        {
            return;
        }

        if (Interlocked.Add(ref pending, cards.Count) > capacity || !queue.Writer.TryWrite(new Entry(cards, null)))
        {
            Interlocked.Add(ref pending, -cards.Count);
            Interlocked.Add(ref dropped, cards.Count);
            FeedbackLog.LedgerDropped(logger, cards.Count);
        }
    }

    /// <summary>Completes when every card queued before the call has been written (or given up on), or at the timeout.</summary>
    public async Task FlushAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!queue.Writer.TryWrite(new Entry(null, done)))
        {
            return;
        }

        flushRequested.Release();

        await done.Task.WaitAsync(timeout, cancellationToken).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<IssuedCard>(BatchSize);
        var flushes = new List<TaskCompletionSource>();
        try
        {
            while (await queue.Reader.WaitToReadAsync(stoppingToken))
            {
                if (windowMs > 0 && Volatile.Read(ref pending) < BatchSize)
                {
                    // Let the calls of the next moments share this commit; a flush request (feedback waiting) ends the wait.
                    await flushRequested.WaitAsync(windowMs, stoppingToken);
                }

                while (flushRequested.CurrentCount > 0 && flushRequested.Wait(0, CancellationToken.None))
                {
                    // Requests already served by the drain below.
                }

                await DrainAsync(batch, flushes, CancellationToken.None);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: write what is queued, then stop.
        }

        queue.Writer.TryComplete();
        await DrainAsync(batch, flushes, CancellationToken.None);
    }

    private async Task DrainAsync(List<IssuedCard> batch, List<TaskCompletionSource> flushes, CancellationToken cancellationToken)
    {
        while (queue.Reader.TryRead(out var entry))
        {
            if (entry.Cards is { } cards)
            {
                batch.AddRange(cards);
            }

            if (entry.Flush is { } flush)
            {
                flushes.Add(flush);
            }

            if (batch.Count >= BatchSize)
            {
                await WriteAsync(batch, cancellationToken);
            }
        }

        await WriteAsync(batch, cancellationToken);
        foreach (var flush in flushes)
        {
            flush.TrySetResult();
        }

        flushes.Clear();
    }

    private async Task WriteAsync(List<IssuedCard> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ledger.RecordAsync(batch, cancellationToken);
                break;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                FeedbackLog.LedgerWriteFailed(logger, batch.Count, attempt, e.GetType().Name);
                if (attempt >= 3)
                {
                    Interlocked.Add(ref dropped, batch.Count);
                    break;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), cancellationToken);
            }
        }

        Interlocked.Add(ref pending, -batch.Count);
        batch.Clear();
    }

    private sealed record Entry(IReadOnlyList<IssuedCard>? Cards, TaskCompletionSource? Flush);
}
