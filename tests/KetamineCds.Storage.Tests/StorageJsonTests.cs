using System.Text.Json;

namespace KetamineCds.Storage.Tests;

/// <summary>
/// The ledger's card numbers JSON is source-generated (issue 8 item 1). Rows already in a database were written with the
/// reflection serializer and Web defaults: the new context must write the same bytes and read those rows back.
/// </summary>
public sealed class StorageJsonTests
{
    private static readonly JsonSerializerOptions Before = new(JsonSerializerDefaults.Web);

    public static TheoryData<CardNumbers> Numbers() => new(
        new CardNumbers { Finding = "benzodiazepine-threshold" },
        new CardNumbers
        {
            Finding = "benzodiazepine-borderline",
            LorazepamEquivalentMgPerDay = 2.750m,
            LorazepamEquivalentMgPerDayAlternate = 4m,
            TotalExcludesUncounted = true,
            LamotrigineMgPerDay = 200.5m,
            LamotrigineDoseCategory = "standard <b>\"dose\"",
            Ingredients = ["6470", "2598"],
            UncountedIngredients = ["2598"],
            UnreadableResources = 2,
        });

    [Theory]
    [MemberData(nameof(Numbers))]
    public void Card_numbers_are_written_as_the_reflection_serializer_wrote_them_and_its_rows_read_back(CardNumbers numbers)
    {
        var before = JsonSerializer.Serialize(numbers, Before);
        Assert.Equal(before, JsonSerializer.Serialize(numbers, StorageJson.Default.CardNumbers));

        var read = JsonSerializer.Deserialize(before, StorageJson.Default.CardNumbers)!;
        Assert.Equal(numbers.Finding, read.Finding);
        Assert.Equal(numbers.LorazepamEquivalentMgPerDay, read.LorazepamEquivalentMgPerDay);
        Assert.Equal(numbers.LorazepamEquivalentMgPerDayAlternate, read.LorazepamEquivalentMgPerDayAlternate);
        Assert.Equal(numbers.TotalExcludesUncounted, read.TotalExcludesUncounted);
        Assert.Equal(numbers.LamotrigineMgPerDay, read.LamotrigineMgPerDay);
        Assert.Equal(numbers.LamotrigineDoseCategory, read.LamotrigineDoseCategory);
        Assert.Equal(numbers.Ingredients, read.Ingredients);
        Assert.Equal(numbers.UncountedIngredients, read.UncountedIngredients);
        Assert.Equal(numbers.UnreadableResources, read.UnreadableResources);
    }
}
