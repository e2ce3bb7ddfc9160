using KetamineCds.Clinical.Dosing;
using KetamineCds.Clinical.Medications;
using KetamineCds.Tests.Knowledge;

namespace KetamineCds.Tests.Dosing;

/// <summary>
/// The sig parser remembers what it read (issue 8: the same Epic and Oracle Health sigs recur across charts): a sig read
/// a second time gives the same daily dose as a first reading, the memory is bounded whatever the requests send, and a
/// remembered reading cannot be changed by a caller.
/// </summary>
public sealed class SigMemoTests
{
    private static SigTextParser NewParser() => new(TestKnowledge.Knowledge.Sig);

    [Fact]
    public void Every_corpus_sig_read_from_memory_gives_the_same_daily_dose_as_a_first_reading()
    {
        var shared = new DailyDoseCalculator(NewParser());
        foreach (var (name, row) in SigCorpusTests.Rows)
        {
            var recognized = TestKnowledge.Classifier.Classify(row.Fact);
            Assert.True(recognized is not null, name);
            var first = new DailyDoseCalculator(NewParser()).Calculate(recognized!);
            for (var reading = 0; reading < 3; reading++)
            {
                var again = shared.Calculate(recognized!);
                Assert.Equal(Describe(first), Describe(again));
            }
        }
    }

    [Fact]
    public void The_same_text_is_read_once_and_a_different_text_is_never_answered_from_memory()
    {
        var parser = NewParser();
        var bid = parser.Parse("Take 1 tablet by mouth 2 (two) times daily.");
        Assert.Same(bid, parser.Parse("Take 1 tablet by mouth 2 (two) times daily."));
        var tid = parser.Parse("Take 1 tablet by mouth 3 (three) times daily.");
        Assert.NotSame(bid, tid);
        Assert.Equal(2, bid.Dosages.Single().Timing!.Frequency);
        Assert.Equal(3, tid.Dosages.Single().Timing!.Frequency);
        // Case and spacing are the record's own words: a differently written sig is read on its own.
        Assert.NotSame(bid, parser.Parse("take 1 tablet by mouth 2 (two) times daily."));
    }

    [Fact]
    public void Memory_stays_bounded_when_every_request_sends_a_new_sig()
    {
        var parser = NewParser();
        for (var i = 0; i < SigTextParser.MemoCapacity * 3; i++)
        {
            parser.Parse($"{i} mg by mouth daily");
            Assert.InRange(parser.MemoCount, 1, SigTextParser.MemoCapacity);
        }

        var longSig = string.Join(" then ", Enumerable.Repeat("1 mg by mouth daily", 20));
        Assert.True(longSig.Length > SigTextParser.MemoMaxTextLength);
        Assert.NotSame(parser.Parse(longSig), parser.Parse(longSig));
    }

    [Fact]
    public void A_remembered_reading_cannot_be_changed_by_a_caller()
    {
        var parser = NewParser();
        var read = parser.Parse("2 mg IV q6h prn agitation, hold if RASS below -2");
        Assert.Throws<NotSupportedException>(() => ((IList<DosageFact>)read.Dosages).Clear());
        Assert.Throws<NotSupportedException>(() => ((IList<string>)read.UnparsedParts).Clear());
        Assert.Same(read, parser.Parse("2 mg IV q6h prn agitation, hold if RASS below -2"));
    }

    [Fact]
    public void Concurrent_hook_calls_reading_the_same_sigs_get_the_same_doses()
    {
        var parser = NewParser();
        var calculator = new DailyDoseCalculator(parser);
        var rows = SigCorpusTests.Rows.Values.Select(r => TestKnowledge.Classifier.Classify(r.Fact)!).ToList();
        var expected = rows.Select(r => Describe(new DailyDoseCalculator(NewParser()).Calculate(r))).ToList();
        Parallel.For(0, 8, _ =>
        {
            for (var round = 0; round < 5; round++)
            {
                for (var i = 0; i < rows.Count; i++)
                {
                    Assert.Equal(expected[i], Describe(calculator.Calculate(rows[i])));
                }
            }
        });
    }

    private static string Describe(DailyDose d) =>
        $"{d.MgPerDay}|{d.ScheduledMgPerDay}|{d.IsUpTo}|{string.Join(",", d.Derivations)}|{d.Calculation}|{d.UnknownReason}|{d.Route}";
}
