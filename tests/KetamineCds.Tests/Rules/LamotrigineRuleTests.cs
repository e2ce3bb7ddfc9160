using KetamineCds.Clinical.Rules;
using KetamineCds.Tests.Knowledge;
using static KetamineCds.Tests.Rules.RuleBuilders;

namespace KetamineCds.Tests.Rules;

public sealed class LamotrigineRuleTests
{
    [Theory]
    [InlineData(25, LamotrigineDoseCategory.Low)]
    [InlineData(99.9, LamotrigineDoseCategory.Low)]
    [InlineData(100, LamotrigineDoseCategory.Standard)]
    [InlineData(450, LamotrigineDoseCategory.Standard)]
    public void Dose_category_follows_the_article_cut_off_of_100mg(double mg, LamotrigineDoseCategory expected) =>
        Assert.Equal(expected, LamotrigineRule.Evaluate(Therapies(Med("lamotrigine", (decimal)mg)), TestKnowledge.Knowledge.Thresholds)!.Category);

    [Fact]
    public void Unreadable_lamotrigine_dose_is_category_unknown_not_low()
    {
        var finding = LamotrigineRule.Evaluate(Therapies(Med("Lamictal", null)), TestKnowledge.Knowledge.Thresholds)!;
        Assert.Equal(LamotrigineDoseCategory.Unknown, finding.Category);
        Assert.Null(finding.MgPerDay);
    }

    [Fact]
    public void No_lamotrigine_no_finding() =>
        Assert.Null(LamotrigineRule.Evaluate(Therapies(Med("clonazepam", 1)), TestKnowledge.Knowledge.Thresholds));
}
