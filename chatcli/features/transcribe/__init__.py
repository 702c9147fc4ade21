"""Speech to text: audio sniffing and splitting under the upload limit, subtitle joining."""
