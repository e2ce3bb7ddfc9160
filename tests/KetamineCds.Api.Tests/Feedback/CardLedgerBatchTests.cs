using System.Collections.Concurrent;
using KetamineCds.Api.Feedback;
using KetamineCds.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace KetamineCds.Api.Tests.Feedback;

/// <summary>
/// The ledger writer lets the cards of calls answered close together share one commit (issue 8 item 1: one sync per
/// hook call was ~4% of the service's CPU under load), and a feedback post's flush still gets every queued card written.
/// The recording ledger below stands in for the database only to count transactions; the stores themselves are tested
/// on real SQLite and PostgreSQL in KetamineCds.Storage.Tests.
/// </summary>
public sealed class CardLedgerBatchTests
{
    [Fact]
    public async Task Cards_of_several_calls_queued_within_the_window_are_committed_in_one_transaction_and_a_flush_writes_them()
    {
        var ledger = new RecordingLedger();
        using var writer = new CardLedgerWriter(ledger, Options.Create(new FeedbackStoreOptions { LedgerBatchWindowMs = 1000 }), NullLogger<CardLedgerWriter>.Instance);
        await writer.StartAsync(CancellationToken.None);
        for (var call = 0; call < 5; call++)
        {
            writer.Enqueue([Card(), Card()]);
        }

        await writer.FlushAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
        await writer.StopAsync(CancellationToken.None);

        Assert.Equal(10, ledger.Batches.Sum(b => b.Count));
        Assert.Single(ledger.Batches);
        Assert.Equal(0, writer.Dropped);
    }

    [Fact]
    public async Task With_no_window_every_queued_card_is_still_written()
    {
        var ledger = new RecordingLedger();
        using var writer = new CardLedgerWriter(ledger, Options.Create(new FeedbackStoreOptions { LedgerBatchWindowMs = 0 }), NullLogger<CardLedgerWriter>.Instance);
        await writer.StartAsync(CancellationToken.None);
        for (var call = 0; call < 5; call++)
        {
            writer.Enqueue([Card()]);
        }

        await writer.FlushAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
        await writer.StopAsync(CancellationToken.None);
        Assert.Equal(5, ledger.Batches.Sum(b => b.Count));
    }

    private static IssuedCard Card() => new(Guid.NewGuid(), "ketamine-order-sign", "hook-1", "hmac-sha256:00", null,
        new CardNumbers { Finding = "lamotrigine-concurrent" }, DateTimeOffset.UnixEpoch);

    private sealed class RecordingLedger : ICardLedger
    {
        public ConcurrentQueue<IReadOnlyList<IssuedCard>> Batches { get; } = new();

        public Task RecordAsync(IReadOnlyList<IssuedCard> cards, CancellationToken cancellationToken)
        {
            Batches.Enqueue([.. cards]);
            return Task.CompletedTask;
        }

        public Task<IssuedCard?> FindCardAsync(Guid cardUuid, CancellationToken cancellationToken) => Task.FromResult<IssuedCard?>(null);
    }
}
