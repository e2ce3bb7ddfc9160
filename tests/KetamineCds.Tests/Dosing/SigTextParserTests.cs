using KetamineCds.Clinical.Dosing;

namespace KetamineCds.Tests.Dosing;

/// <summary>What the sig parser reads into each dosage element, beyond the mg/day the calculator makes of it.</summary>
public sealed class SigTextParserTests
{
    private static readonly SigTextParser Parser = new(KetamineCds.Tests.Knowledge.TestKnowledge.Knowledge.Sig);

    [Fact]
    public void Every_4_to_6_hours_is_period_4_with_period_max_6_hours()
    {
        var line = Assert.Single(Parser.Parse("1 mg every 4 to 6 hours").Dosages);
        Assert.Equal(4m, line.Timing?.Period);
        Assert.Equal(6m, line.Timing?.PeriodMax);
        Assert.Equal("h", line.Timing?.PeriodUnit);
        Assert.True(line.ParsedFromText);
    }

    [Fact]
    public void En_dash_range_25_50_mg_TID_is_a_dose_range()
    {
        var result = Parser.Parse("25–50 mg TID");
        var line = Assert.Single(result.Dosages);
        Assert.Null(result.Unparsed);
        Assert.Null(line.Dose);
        Assert.Equal(25m, line.DoseRangeLow?.Value);
        Assert.Equal(50m, line.DoseRangeHigh?.Value);
        Assert.Equal(3, line.Timing?.Frequency);
    }

    [Fact]
    public void One_to_two_tablets_is_a_range_of_tablets()
    {
        var line = Assert.Single(Parser.Parse("1 to 2 tablets twice daily").Dosages);
        Assert.Equal(1m, line.DoseRangeLow?.Value);
        Assert.Equal(2m, line.DoseRangeHigh?.Value);
        Assert.Equal("{tbl}", line.DoseRangeHigh?.Code);
    }

    [Fact]
    public void Do_not_exceed_4_mg_a_day_is_a_maximum_per_period()
    {
        var line = Assert.Single(Parser.Parse("1 mg q6h prn anxiety, do not exceed 4 mg/day").Dosages);
        Assert.True(line.AsNeeded);
        Assert.Equal(4m, line.MaxDosePerPeriod?.Numerator.Value);
        Assert.Equal("mg", line.MaxDosePerPeriod?.Numerator.Code);
        Assert.Equal(1m, line.MaxDosePerPeriod?.Denominator.Value);
        Assert.Equal("d", line.MaxDosePerPeriod?.Denominator.Code);
    }

    [Fact]
    public void Morning_and_bedtime_doses_are_two_lines()
    {
        var result = Parser.Parse("100 mg QAM, 200 mg QHS");
        Assert.Null(result.Unparsed);
        Assert.Equal([100m, 200m], result.Dosages.Select(d => d.Dose!.Value));
    }

    [Fact]
    public void A_bare_product_strength_is_not_a_sig()
    {
        var result = Parser.Parse("lorazepam 2 MG/ML Oral Solution");
        Assert.Empty(result.Dosages);
        Assert.Null(result.Unparsed);
    }

    [Theory]
    [InlineData("2 mg daily for 7 days then 1 mg daily", "for 7 days then")]
    [InlineData("take as directed", "take as directed")]
    [InlineData("1 mg q6h prn, max 2 mg", "max 2 mg")]
    public void What_cannot_be_read_is_quoted_in_unparsed(string sig, string expected)
    {
        Assert.Equal(expected, Parser.Parse(sig).Unparsed);
    }

    [Theory]
    [InlineData("1 tab po bid", "oral")]
    [InlineData("2 mg IV q6h", "intravenous")]
    [InlineData("1 spray in each nostril daily", "nasal")]
    public void The_route_in_a_sig_is_kept(string sig, string route)
    {
        Assert.Equal(route, Assert.Single(Parser.Parse(sig).Dosages).Route);
    }

    [Fact]
    public void Two_sprays_in_each_nostril_is_four_sprays()
    {
        var line = Assert.Single(Parser.Parse("2 sprays in each nostril daily").Dosages);
        Assert.Equal(4m, line.Dose?.Value);
        Assert.Equal("{spray}", line.Dose?.Code);
    }

    [Fact]
    public void A_decimal_comma_is_not_guessed()
    {
        Assert.Equal("0,5 mg", Parser.Parse("0,5 mg bid").Unparsed);
    }

    [Fact]
    public void A_long_unreadable_text_is_read_in_linear_time_without_throwing()
    {
        var text = string.Concat(Enumerable.Repeat("1-2-3/4 mg to or every q q6 ", 2000));
        var result = Parser.Parse(text);
        Assert.NotNull(result.Unparsed);
    }
}
