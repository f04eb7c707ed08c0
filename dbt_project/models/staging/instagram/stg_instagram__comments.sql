{{ stg_comments('instagram') }}
