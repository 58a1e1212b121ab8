"""Indonesian title text: normalisation, words and stems, and the word lists they rely on."""
